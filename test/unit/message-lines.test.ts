import { describe, expect, it } from 'vitest';
import { checkMessageLines, LineScan, MAX_LINE_OCTETS } from '../../proxy/message-lines.ts';

describe('line endings', () => {
  it('returns a CRLF message untouched, without copying it', () => {
    const raw = Buffer.from('A: b\r\n\r\nbody\r\n.\r\n');
    const out = checkMessageLines(raw);
    expect(out).toEqual({ ok: true, message: raw, normalised: false });
    expect(out.ok && out.message).toBe(raw);
  });

  it('normalises bare LF and bare CR to CRLF', () => {
    const out = checkMessageLines(Buffer.from('A: b\n\nx\ry\r\nz\n'));
    expect(out.ok && out.message.toString()).toBe('A: b\r\n\r\nx\r\ny\r\nz\r\n');
  });

  it.each(['\n.\n', '\r\n.\n', '\n.\r\n', '\r.\r', '\r.\r\n'])('refuses a "." line delimited by %j', (trick) => {
    const out = checkMessageLines(Buffer.from(`A: b\r\n\r\nbody${trick}MAIL FROM:<x@y>\r\n`));
    expect(out.ok).toBe(false);
  });

  it('keeps a "." line that CRLF delimits on both sides (already dot-unstuffed by smtp-server)', () => {
    const out = checkMessageLines(Buffer.from('A: b\r\n\r\nx\r\n.\r\nLF here\n'));
    expect(out.ok && out.message.toString()).toBe('A: b\r\n\r\nx\r\n.\r\nLF here\r\n');
  });
});

/**
 * The rule, walked line by line as the specification: every line ending becomes CRLF, and a "."
 * line is refused when its own ending is bare or the line before it ended bare.
 */
function reference(raw: string): string | null {
  let out = '';
  let start = 0;
  let previousBare = false;
  for (let i = 0; i < raw.length; ) {
    if (raw[i] !== '\r' && raw[i] !== '\n') {
      i++;
      continue;
    }
    const crlf = raw[i] === '\r' && raw[i + 1] === '\n';
    const line = raw.slice(start, i);
    if (line === '.' && (!crlf || previousBare)) return null;
    out += `${line}\r\n`;
    i += crlf ? 2 : 1;
    start = i;
    previousBare = !crlf;
  }
  return out + raw.slice(start);
}

describe('line endings against the line-by-line rule', () => {
  it('gives the same bytes or the same refusal for 3,000 random mixes of CR, LF, "." and text', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const atoms = ['\r', '\n', '\r\n', '.', 'x', 'ab', '\r\n.\r\n', '\n.'];
    for (let n = 0; n < 3000; n++) {
      const body = Array.from(
        { length: 1 + Math.floor(random() * 30) },
        () => atoms[Math.floor(random() * atoms.length)],
      ).join('');
      const raw = `A: b\r\n\r\n${body}`;
      const expected = reference(raw);
      const out = checkMessageLines(Buffer.from(raw));
      if (expected === null) expect(out.ok, JSON.stringify(raw)).toBe(false);
      else expect(out.ok && out.message.toString(), JSON.stringify(raw)).toBe(expected);
    }
  });
});

describe('what RFC 5322 forbids', () => {
  it('refuses NUL bytes', () => {
    expect(checkMessageLines(Buffer.from('A: b\r\n\r\nx\0y\r\n'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/NUL bytes/),
    });
  });

  it('refuses a line over 998 octets and keeps one of exactly 998', () => {
    expect(checkMessageLines(Buffer.from(`A: b\r\n\r\n${'x'.repeat(998)}\r\n`)).ok).toBe(true);
    expect(checkMessageLines(Buffer.from(`A: b\r\n\r\n${'x'.repeat(999)}\r\n`))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^a line of 999 octets exceeds/),
    });
    expect(checkMessageLines(Buffer.from(`A: b\r\n\r\n${'x'.repeat(999)}`)).ok).toBe(false);
  });
});

describe('the same checks made on the DATA as it comes (LineScan)', () => {
  /** The message cut into chunks at random places, as the socket may deliver it. */
  function scanInChunks(raw: Buffer, random: () => number): ReturnType<LineScan['result']> {
    const scan = new LineScan();
    for (let at = 0; at < raw.length; ) {
      const end = Math.min(raw.length, at + 1 + Math.floor(random() * 12));
      scan.push(raw.subarray(at, end));
      at = end;
    }
    return scan.result(raw);
  }

  it('gives what checkMessageLines gives, for 5,000 random messages cut at random places', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const atoms = ['\r', '\n', '\r\n', '.', 'x', 'ab', '\r\n.\r\n', '\n.', '\0', 'y'.repeat(500), '\r\n'.repeat(3)];
    for (let n = 0; n < 5000; n++) {
      const body = Array.from(
        { length: 1 + Math.floor(random() * 12) },
        () => atoms[Math.floor(random() * atoms.length)],
      ).join('');
      // Mostly well-formed messages (the path the scan answers alone), some with anything in them.
      const clean = random() < 0.5 ? body.replace(/\r\n|\r|\n/g, '\r\n').replace(/\0/g, '') : body;
      const raw = Buffer.from(`A: b\r\n\r\n${clean}`);
      const expected = checkMessageLines(raw);
      const out = scanInChunks(raw, random);
      expect(out, JSON.stringify(raw.toString())).toEqual(expected);
      if (out.ok && !out.normalised) expect(out.message).toBe(raw);
      // The line length, counted without the scanner both of them share: the message with every
      // line ending made CRLF, split on CRLF.
      const longest = (text: string) => Math.max(...text.split('\r\n').map((line) => line.length));
      const normalised = raw.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
      if (out.ok) expect(longest(out.message.toString('latin1'))).toBeLessThanOrEqual(MAX_LINE_OCTETS);
      else if (out.reason.startsWith('a line of')) {
        expect(out.reason).toContain(`a line of ${longest(normalised)} octets`);
        expect(longest(normalised)).toBeGreaterThan(MAX_LINE_OCTETS);
      }
    }
  });

  it('finds a bare CR, a bare LF and a long line across a chunk boundary', () => {
    const cases = [
      ['A: b\r', '\n\r\nx\r', 'y\r\n'],
      ['A: b\r\n\r\nx', '\ny\r\n'],
      ['A: b\r\n\r\nx\r'],
      [`A: b\r\n\r\n${'x'.repeat(600)}`, `${'x'.repeat(399)}\r\n`],
      // 999 octets, the CRLF cut from its line, or the line from its CRLF: one too many.
      [`A: b\r\n\r\n${'x'.repeat(999)}\r`, '\nok\r\n'],
      [`A: b\r\n\r\n${'x'.repeat(999)}`, '\r\nok\r\n'],
      ['A: b\r\n\r\n', `${'x'.repeat(999)}`],
    ];
    for (const chunks of cases) {
      const scan = new LineScan();
      for (const c of chunks) scan.push(Buffer.from(c));
      const raw = Buffer.from(chunks.join(''));
      expect(scan.result(raw), JSON.stringify(chunks)).toEqual(checkMessageLines(raw));
    }
  });
});
