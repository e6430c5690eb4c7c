import { describe, expect, it } from 'vitest';
import { issueToken, type TokenKeys, verifyToken } from '../../shared/unsubscribe-token.ts';

const keys: TokenKeys = {
  activeKeyId: 'k2',
  keys: { k1: 'an old secret that is still accepted 1234', k2: 'the current secret for new unsubscribe links' },
  maxAgeDays: 730,
};
const request = { controller: 'acme', recipient: 'bob@client.example', copyId: 'c0py1d' };

describe('unsubscribe tokens', () => {
  it('round-trips the controller, recipient and copy', () => {
    const check = verifyToken(keys, issueToken(keys, request));
    expect(check).toMatchObject({ ok: true, keyId: 'k2', request });
  });

  it('does not reveal the address', () => {
    const token = issueToken(keys, request);
    expect(token).not.toContain('bob');
    expect(Buffer.from(token.split('.')[1]!, 'base64url').toString('latin1')).not.toContain('bob@client');
    expect(token).toMatch(/^[A-Za-z0-9._-]+$/);
  });

  it('rejects a forged token: one changed character, another key, garbage, truncation', () => {
    const token = issueToken(keys, request);
    const flipped = token.slice(0, -5) + (token.at(-5) === 'A' ? 'B' : 'A') + token.slice(-4);
    expect(verifyToken(keys, flipped)).toEqual({ ok: false, reason: 'token does not verify' });
    const other = issueToken({ ...keys, keys: { k2: 'a different secret of sufficient length!!' } }, request);
    expect(verifyToken(keys, other).ok).toBe(false);
    expect(verifyToken(keys, 'hello').ok).toBe(false);
    expect(verifyToken(keys, token.slice(0, 30))).toEqual({ ok: false, reason: 'malformed token' });
    expect(verifyToken(keys, token.slice(0, -10)).ok).toBe(false);
    expect(verifyToken(keys, `k9.${token.split('.')[1]}`)).toEqual({ ok: false, reason: 'unknown or retired key' });
    expect(verifyToken(keys, `constructor.${token.split('.')[1]}`).ok).toBe(false);
  });

  it('accepts tokens from a rotated-out key while it is still listed, and not after', () => {
    const old = issueToken({ ...keys, activeKeyId: 'k1' }, request);
    expect(verifyToken(keys, old).ok).toBe(true);
    expect(verifyToken({ ...keys, keys: { k2: keys.keys.k2! } }, old)).toEqual({
      ok: false,
      reason: 'unknown or retired key',
    });
  });

  it('stays valid for more than a year, then expires', () => {
    const issued = new Date('2026-01-01T00:00:00Z');
    const token = issueToken(keys, request, issued);
    expect(verifyToken(keys, token, new Date('2027-06-01T00:00:00Z')).ok).toBe(true);
    expect(verifyToken(keys, token, new Date('2028-02-01T00:00:00Z'))).toEqual({ ok: false, reason: 'token expired' });
  });
});
