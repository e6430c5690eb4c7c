import { describe, expect, it } from 'vitest';
import { checkMessageLines } from '../../proxy/message-lines.ts';

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
