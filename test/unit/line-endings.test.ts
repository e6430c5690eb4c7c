import { describe, expect, it } from 'vitest';
import { normaliseLineEndings } from '../../proxy/line-endings.ts';

describe('line endings', () => {
  it('returns a CRLF message untouched, without copying it', () => {
    const raw = Buffer.from('A: b\r\n\r\nbody\r\n.\r\n');
    const out = normaliseLineEndings(raw);
    expect(out).toEqual({ ok: true, message: raw, normalised: false });
    expect(out.ok && out.message).toBe(raw);
  });

  it('normalises bare LF and bare CR to CRLF', () => {
    const out = normaliseLineEndings(Buffer.from('A: b\n\nx\ry\r\nz\n'));
    expect(out.ok && out.message.toString()).toBe('A: b\r\n\r\nx\r\ny\r\nz\r\n');
  });

  it.each(['\n.\n', '\r\n.\n', '\n.\r\n', '\r.\r', '\r.\r\n'])('refuses a "." line delimited by %j', (trick) => {
    const out = normaliseLineEndings(Buffer.from(`A: b\r\n\r\nbody${trick}MAIL FROM:<x@y>\r\n`));
    expect(out.ok).toBe(false);
  });

  it('keeps a "." line that CRLF delimits on both sides (already dot-unstuffed by smtp-server)', () => {
    const out = normaliseLineEndings(Buffer.from('A: b\r\n\r\nx\r\n.\r\nLF here\n'));
    expect(out.ok && out.message.toString()).toBe('A: b\r\n\r\nx\r\n.\r\nLF here\r\n');
  });
});
