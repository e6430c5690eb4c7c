import { describe, expect, it } from 'vitest';
import { encodeQpLines, encodeText, PrefixEncoder } from '../../shared/mime/text-codec.ts';

/**
 * Each copy's text part is its prefix (the same for every copy) and its footer: PrefixEncoder
 * encodes the prefix once and the rest per copy. Its output must be exactly the bytes of
 * encoding the whole text, whatever the prefix: line ends of every kind, long lines, trailing
 * whitespace, multi-byte characters across the cut, lengths around base64's 57-byte lines.
 */
const prefixes = [
  '',
  'a',
  'Bonjour,\r\n\r\nVoici notre offre.\r\n',
  'bare LF lines\nsecond line\nno final line end',
  'trailing spaces   \r\ntab\t\r\nend',
  `${'x'.repeat(200)}\r\n${'é'.repeat(90)}`,
  `${'word '.repeat(60)}\n${'=3D '.repeat(30)}`,
  `${'ü'.repeat(28)}a`, // 57 bytes
  `${'ü'.repeat(28)}ab`, // 58 bytes
  `${'€'.repeat(19)}`, // 57 bytes, 3-byte characters
  `${'€'.repeat(20)}`, // cut inside a character's bytes
  '<html><body><table width="600"><tr><td><p>Offre</p></td></tr></table>\r\n  ',
  'lone CR\rin the middle\r\nand\r',
  '😀'.repeat(40),
];
const footers = [
  '\r\n-- \r\nVous recevez ce message car… https://u.example/u/k2.ABCdef_123\r\n',
  '<div>Se désinscrire : <a href="https://u.example/u/k2.x">ici</a></div>\r\n</body></html>',
  `  ${'long footer line '.repeat(10)}`,
  '',
];

describe('PrefixEncoder', () => {
  for (const encoding of ['quoted-printable', 'base64'] as const) {
    it(`gives exactly encodeText's bytes (${encoding})`, () => {
      let checked = 0;
      for (const prefix of prefixes) {
        const encoder = new PrefixEncoder(prefix, encoding);
        for (const footer of footers) {
          const text = `${prefix}${footer}`;
          expect(Buffer.concat(encoder.encode(text)).toString('latin1'), JSON.stringify({ prefix, footer })).toBe(
            encodeText(text, encoding).toString('latin1'),
          );
          checked++;
        }
      }
      expect(checked).toBe(prefixes.length * footers.length);
    });
  }

  it('encodes the shared prefix once: the first Buffer is the same object for every copy', () => {
    const encoder = new PrefixEncoder('line one\r\nline two\r\nline three', 'quoted-printable');
    const a = encoder.encode('line one\r\nline two\r\nline three + footer A');
    const b = encoder.encode('line one\r\nline two\r\nline three + footer B');
    expect(a[0]).toBe(b[0]);
    expect(a[0]!.toString('latin1')).toBe('line one\r\nline two\r\n');
  });

  it('wraps QP lines of text with bare LF line ends at 76 like any other line', () => {
    const encoded = encodeText(`${'a'.repeat(100)}\n${'b'.repeat(10)}`, 'quoted-printable').toString('latin1');
    for (const line of encoded.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    expect(encoded).toBe(`${'a'.repeat(75)}=\r\n${'a'.repeat(25)}\r\n${'b'.repeat(10)}`);
  });

  it('encodes per line through its cache exactly as the whole text, hits, misses and a full cache alike', () => {
    const texts = [
      ...footers,
      ...prefixes,
      '--boundary-looking line\r\n- one hyphen\r\ntrailing tab\t\r\n\r\n\r\n',
      `${'é'.repeat(600)}\r\n${'x'.repeat(1500)}\r\nshort`,
      // More distinct lines than the cache holds: it empties and fills again.
      Array.from({ length: 3000 }, (_, i) => `ligne ${i} — ${'=-'.repeat(i % 50)} `).join('\n'),
    ];
    for (let round = 0; round < 2; round++) {
      for (const text of texts) {
        expect(encodeQpLines(text).toString('latin1'), JSON.stringify(text.slice(0, 80))).toBe(
          encodeText(text, 'quoted-printable').toString('latin1'),
        );
      }
    }
  });
});
