import { describe, expect, it } from 'vitest';
import { declaredSize, MessageBuffer } from '../../proxy/message-buffer.ts';

const chunks = ['From: a@b.example\r\n', '\r\n', 'body line\r\n'.repeat(5000)].map((c) => Buffer.from(c));
const whole = Buffer.concat(chunks);

/** A large message as the TLS socket hands it over: 16 KB records. */
const large = Buffer.alloc(3 * 1024 * 1024 + 123, 'large body line\r\n');
const records = Array.from({ length: Math.ceil(large.length / 16384) }, (_, i) =>
  large.subarray(i * 16384, (i + 1) * 16384),
);

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

  it('holds a large message without SIZE once, grown in place, never as its chunks plus their join', () => {
    for (const declared of [undefined, 1000, 1024 * 1024]) {
      const buffer = new MessageBuffer(declared, 40 * 1024 * 1024);
      for (const r of records) buffer.push(r);
      // Nothing to join at the end: the budget need not hold the message twice, only one step of
      // the move out of the growable block.
      expect(buffer.joinBytes).toBe(1024 * 1024);
      const out = buffer.toBuffer();
      expect(out.length).toBe(large.length);
      expect(out.equals(large)).toBe(true);
      // A fixed Buffer of the message's exact size (V8 is slow on views of resizable ones).
      expect((out.buffer as ArrayBuffer).resizable).toBe(false);
      expect(out.buffer.byteLength).toBe(large.length);
    }
  });

  it('still takes a chunk past the maximum (the caller refuses the message) without throwing', () => {
    const buffer = new MessageBuffer(undefined, 1024 * 1024);
    for (const r of records) buffer.push(r);
    expect(buffer.toBuffer().equals(large)).toBe(true);
  });

  it('falls back to chunks when the growable block cannot be had (address space refused)', () => {
    // A maximum no ArrayBuffer can reserve: V8 throws a RangeError, which must not reach the
    // socket's data handler (the process would go down with every session on it).
    const buffer = new MessageBuffer(undefined, Number.MAX_SAFE_INTEGER);
    for (const r of records) buffer.push(r);
    expect(buffer.joinBytes).toBe(large.length);
    expect(buffer.toBuffer().equals(large)).toBe(true);
  });

  it('reads SIZE from the MAIL FROM parameters', () => {
    expect(declaredSize({ SIZE: '12345' })).toBe(12345);
    expect(declaredSize({ SIZE: 'x' })).toBeUndefined();
    expect(declaredSize(false)).toBeUndefined();
    expect(declaredSize(undefined)).toBeUndefined();
  });
});
