import libqp from 'libqp';
import { describe, expect, it } from 'vitest';
import { encodeQp } from '../../shared/mime/text-codec.ts';
import { expectWellFormedQp } from '../helpers/quoted-printable.ts';

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** What a text's QP must decode to: its line ends as CRLF, everything else as it was. */
const expected = (bytes: Buffer) => Buffer.from(bytes.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

function checkEncoding(input: Buffer) {
  const encoded = encodeQp(input);
  const text = encoded.toString('latin1');
  const context = JSON.stringify(input.toString('utf8').slice(0, 200));
  expectWellFormedQp(text, context);
  expect(libqp.decode(text).equals(expected(input)), context).toBe(true);
  return text;
}

describe('quoted-printable encoding (encodeQp)', () => {
  it('decodes back to the text, with lines of 76 at most, for 2,000 random texts', () => {
    const next = random(7);
    const pieces = [
      'a',
      'Z',
      ' ',
      '\t',
      '-',
      '--',
      '=',
      '.',
      '\r\n',
      '\n',
      '\r',
      'é',
      '€',
      '😀',
      '\u00a0',
      '<p style="x">',
    ];
    for (let t = 0; t < 2000; t++) {
      let text = '';
      const length = Math.floor(next() * 400);
      for (let i = 0; i < length; i++) {
        const r = next();
        text +=
          r < 0.5 ? 'x' : r < 0.55 ? 'y'.repeat(Math.floor(next() * 120)) : pieces[Math.floor(next() * pieces.length)];
      }
      checkEncoding(Buffer.from(text, 'utf8'));
    }
  });

  it('keeps invalid UTF-8 and every byte value as they were', () => {
    const next = random(11);
    for (let t = 0; t < 500; t++) {
      const bytes = Buffer.alloc(Math.floor(next() * 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
      checkEncoding(bytes);
    }
  });

  it('never splits a multi-byte character across a soft break', () => {
    for (const char of ['é', '€', '😀']) {
      for (let pad = 0; pad < 13; pad++) {
        const text = checkEncoding(Buffer.from(`${'a'.repeat(pad)}${char.repeat(40)}`, 'utf8'));
        for (const line of text.split('=\r\n'))
          expect(() => new TextDecoder('utf-8', { fatal: true }).decode(libqp.decode(line))).not.toThrow();
      }
    }
  });

  it('writes what libqp wrote where the rules fix it', () => {
    expect(
      encodeQp(Buffer.from('Bonjour, voici notre offre = 10 €.\nFin  \r\n-- \r\n', 'utf8')).toString('latin1'),
    ).toBe('Bonjour, voici notre offre =3D 10 =E2=82=AC.\r\nFin =20\r\n=2D-=20\r\n');
    expect(encodeQp(Buffer.from(`${'a'.repeat(75)}\n${'b'.repeat(76)}\n${'c'.repeat(77)}`)).toString('latin1')).toBe(
      `${'a'.repeat(75)}\r\n${'b'.repeat(76)}\r\n${'c'.repeat(75)}=\r\ncc`,
    );
    // A hyphen that would begin the line after a soft break is escaped too.
    expect(encodeQp(Buffer.from(`${'a'.repeat(75)}-b`)).toString('latin1')).toBe(`${'a'.repeat(75)}=\r\n=2Db`);
    expect(encodeQp(Buffer.from('lone\rCR')).toString('latin1')).toBe('lone=0DCR');
  });
});
