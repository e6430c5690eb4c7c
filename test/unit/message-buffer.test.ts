import { describe, expect, it } from 'vitest';
import { declaredSize, MessageBuffer } from '../../proxy/message-buffer.ts';

const chunks = ['From: a@b.example\r\n', '\r\n', 'body line\r\n'.repeat(5000)].map((c) => Buffer.from(c));
const whole = Buffer.concat(chunks);

describe('message buffer', () => {
  it('fills one buffer in place when the client declared the size', () => {
    const buffer = new MessageBuffer(whole.length, 1_000_000);
    for (const c of chunks) buffer.push(c);
    const out = buffer.toBuffer();
    expect(out.equals(whole)).toBe(true);
    // The one buffer allocated at the declared size (with its 2 % + 1 KiB margin), not a join.
    expect(out.buffer.byteLength).toBe(Math.ceil(whole.length * 1.02) + 1024);
  });

  it('gives the same bytes when the declaration was too small, absent or absurd', () => {
    for (const declared of [10, undefined, 10 ** 12]) {
      const buffer = new MessageBuffer(declared, 1_000_000);
      for (const c of chunks) buffer.push(c);
      expect(buffer.toBuffer().equals(whole)).toBe(true);
    }
  });

  it('reads SIZE from the MAIL FROM parameters', () => {
    expect(declaredSize({ SIZE: '12345' })).toBe(12345);
    expect(declaredSize({ SIZE: 'x' })).toBeUndefined();
    expect(declaredSize(false)).toBeUndefined();
    expect(declaredSize(undefined)).toBeUndefined();
  });
});
