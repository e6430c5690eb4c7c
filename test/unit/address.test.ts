import { describe, expect, it } from 'vitest';
import { matchesSenderPattern, normaliseAddress, patternWithin } from '../../shared/address.ts';

describe('address normalisation', () => {
  it('lower-cases and converts IDN domains to their ASCII form', () => {
    expect(normaliseAddress('Jürgen@Bücher.Example')).toEqual({
      address: 'jürgen@xn--bcher-kva.example',
      local: 'jürgen',
      domain: 'xn--bcher-kva.example',
    });
    expect(normaliseAddress('<Bob@Client.Example>')?.address).toBe('bob@client.example');
  });

  it.each([
    '',
    'bob',
    '@client.example',
    'bob@',
    'bob@localhost',
    'a b@client.example',
    'bob@client..example',
    '.bob@client.example',
    'bob@-x.example',
  ])('refuses %j', (input) => {
    expect(normaliseAddress(input)).toBeNull();
  });

  it('matches sender patterns by address or by exact domain', () => {
    const alice = normaliseAddress('Alice@ACME.example')!;
    expect(matchesSenderPattern(alice, 'acme.example')).toBe(true);
    expect(matchesSenderPattern(alice, 'alice@acme.example')).toBe(true);
    expect(matchesSenderPattern(alice, 'bob@acme.example')).toBe(false);
    expect(matchesSenderPattern(normaliseAddress('x@sub.acme.example')!, 'acme.example')).toBe(false);
  });

  it('says whether a pattern is within another: a domain covers its addresses, not its subdomains', () => {
    expect(patternWithin('alice@acme.example', 'acme.example')).toBe(true);
    expect(patternWithin('ACME.example', 'acme.example')).toBe(true);
    expect(patternWithin('acme.example', 'alice@acme.example')).toBe(false);
    expect(patternWithin('alice@sub.acme.example', 'acme.example')).toBe(false);
    expect(patternWithin('alice@acme.example', 'Alice@ACME.example')).toBe(true);
  });
});
