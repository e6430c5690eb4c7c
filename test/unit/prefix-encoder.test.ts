import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import libqp from 'libqp';
import { describe, expect, it } from 'vitest';
import { encodeQpLines, encodeText, PrefixEncoder } from '../../shared/mime/text-codec.ts';
import { expectWellFormedQp } from '../helpers/quoted-printable.ts';

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
          // Given only what follows the prefix, the same bytes.
          expect(Buffer.concat(encoder.encodeAfter(footer)).toString('latin1')).toBe(
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

  describe('with a varying string (the unsubscribe token)', () => {
    /** QP as RFC 2045 has it, and what it decodes to is what the whole text's QP decodes to. */
    function expectSameText(encoder: PrefixEncoder, text: string, varying: string) {
      const parts = encoder.encode(text, varying);
      const qp = Buffer.concat(parts).toString('latin1');
      const context = JSON.stringify({ text: text.slice(-300), varying });
      expectWellFormedQp(qp, context);
      expect(libqp.decode(qp).toString('utf8'), context).toBe(
        libqp.decode(encodeText(text, 'quoted-printable').toString('latin1')).toString('utf8'),
      );
      return parts;
    }

    it('decodes to the text, for any text around any number of occurrences, as copy after copy', () => {
      const piece = fc.oneof(
        fc.string({ maxLength: 90, unit: 'binary' }),
        fc.constantFrom('\r\n', '\n', '\r', ' ', '\t', '-', '=', 'é', '😀', 'x'.repeat(80), ' \r\n', '-- \r\n'),
      );
      const token = fc.stringMatching(/^[a-z0-9]{1,4}\.[A-Za-z0-9_=-]{1,140}$/);
      fc.assert(
        fc.property(
          fc.array(piece, { maxLength: 6 }).map((p) => p.join('')),
          fc.array(
            fc.array(piece, { maxLength: 4 }).map((p) => p.join('')),
            { minLength: 1, maxLength: 4 },
          ),
          fc.array(token, { minLength: 1, maxLength: 4 }),
          (prefix, around, tokens) => {
            const encoder = new PrefixEncoder(prefix, 'quoted-printable');
            // Copy after copy through the same encoder, each with its own token, as a message's copies are.
            for (const t of tokens) {
              const parts = expectSameText(encoder, `${prefix}${around.join(t)}`, t);
              // Given only what follows the prefix, the same bytes.
              expect(Buffer.concat(encoder.encodeAfter(around.join(t), t)).equals(Buffer.concat(parts))).toBe(true);
            }
          },
        ),
        { numRuns: 1500 },
      );
    });

    it('encodes what surrounds the token once: the next copy reuses those Buffers', () => {
      const prefix = 'Bonjour,\r\n\r\nVoici notre offre.\r\n';
      const footer = (t: string, source: string) =>
        `${prefix}\r\n-- \r\nSource : ${source}\r\nSe désinscrire : https://u.example/u/${t}\r\nMerci.\r\n`;
      const encoder = new PrefixEncoder(prefix, 'quoted-printable');
      const a = expectSameText(encoder, footer('k2.AAAA', 'le Salon IT'), 'k2.AAAA');
      const b = expectSameText(encoder, footer('k2.BBBBBB', 'le Salon IT'), 'k2.BBBBBB');
      expect(a).toHaveLength(b.length);
      // The prefix, the footer before the token, the soft break, the token (the copy's own), the rest.
      const own = a.map((part, i) => part !== b[i]);
      expect(own.filter(Boolean)).toHaveLength(1);
      expect(Buffer.concat(b).toString('latin1')).toContain('https://u.example/u/=\r\nk2.BBBBBB=\r\n\r\nMerci.');
      // Another footer (a first contact's source): encoded anew, and both kept.
      const c = expectSameText(encoder, footer('k2.CC', 'un annuaire'), 'k2.CC');
      expect(c[1]).not.toBe(a[1]);
      const d = expectSameText(encoder, footer('k2.DD', 'le Salon IT'), 'k2.DD');
      expect(d[1]).toBe(a[1]);
    });

    it("keeps the fragments it reuses, not the copies' whole texts they were cut from", () => {
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as () => void;
      const prefix = `${'Voici notre offre détaillée. '.repeat(300_000)}\r\n`; // 17 MB as UTF-16
      const encoder = new PrefixEncoder(prefix, 'quoted-printable');
      gc();
      const before = process.memoryUsage().heapUsed;
      // Four arrangements (footers), each kept with its encoding, from four texts of 17 MB; their
      // lines new to the cache of encoded lines (which keeps lines, not the texts they came from).
      const run = Math.random().toString(36).slice(2);
      for (const source of ['a', 'b', 'c', 'd']) {
        const token = `k2.${source.repeat(40)}`;
        encoder.encode(
          `${prefix}-- \r\nSource : le salon ${source} ${run}\r\nhttps://u.example/u/${run}/${token} ${run}\r\n`,
          token,
        );
      }
      gc();
      // Less than one text's worth (measured: 9 MB, V8's own; 35 MB when the fragments were slices).
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(prefix.length * 2);
    });

    it('encodes line by line as before when the token is absent, empty or holds a line end', () => {
      const encoder = new PrefixEncoder('a\r\n', 'quoted-printable');
      const text = 'a\r\nfooter line\r\n';
      for (const varying of ['k2.absent', '', 'x\r\ny']) {
        expect(Buffer.concat(encoder.encode(text, varying)).toString('latin1')).toBe(
          encodeText(text, 'quoted-printable').toString('latin1'),
        );
      }
      const base64 = new PrefixEncoder('a\r\n', 'base64');
      expect(Buffer.concat(base64.encode(`${text}k2.T`, 'k2.T')).toString('latin1')).toBe(
        encodeText(`${text}k2.T`, 'base64').toString('latin1'),
      );
    });
  });
});
