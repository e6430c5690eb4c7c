import { describe, expect, it } from 'vitest';
import { idempotencyHash, idempotencyKey } from '../../proxy/message-pipeline.ts';

describe('the idempotency key hashed during the upload', () => {
  it('is the key of the whole message, whatever the chunks', () => {
    const raw = Buffer.from(`Subject: x\r\n\r\n${'line of the body\r\n'.repeat(500)}`);
    const whole = idempotencyKey('alice', 'alice@acme.example', raw);
    for (const size of [1, 7, 1000, raw.length]) {
      const hash = idempotencyHash('alice', 'alice@acme.example');
      for (let at = 0; at < raw.length; at += size) hash.update(raw.subarray(at, at + size));
      expect(hash.digest('base64url'), `chunks of ${size}`).toBe(whole);
    }
  });

  it('differs by user, by envelope sender and by byte', () => {
    const raw = Buffer.from('Subject: x\r\n\r\nhello\r\n');
    const key = idempotencyKey('alice', 'alice@acme.example', raw);
    expect(idempotencyKey('bob', 'alice@acme.example', raw)).not.toBe(key);
    expect(idempotencyKey('alice', 'bob@acme.example', raw)).not.toBe(key);
    expect(idempotencyKey('alice', 'alice@acme.example', Buffer.from('Subject: x\r\n\r\nhellp\r\n'))).not.toBe(key);
    // The separator: "ab" + "c" is not "a" + "bc".
    expect(idempotencyKey('ab', 'c', raw)).not.toBe(idempotencyKey('a', 'bc', raw));
  });
});
