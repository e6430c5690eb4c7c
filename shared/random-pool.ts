import { randomBytes, randomFillSync } from 'node:crypto';

/**
 * Random bytes from the platform's CSPRNG, drawn from a pool refilled 4 KB at a time, each byte
 * handed out once (what Node's own `randomUUID` does). `randomBytes` crosses into C++ for every
 * call, and the relay draws two small ones per copy (its id and its token's IV).
 */
const POOL = Buffer.alloc(4096);
let used = POOL.length;

export function pooledRandomBytes(size: number): Buffer {
  if (size > POOL.length) return randomBytes(size);
  if (used + size > POOL.length) {
    randomFillSync(POOL);
    used = 0;
  }
  const bytes = Buffer.from(POOL.subarray(used, used + size));
  POOL.fill(0, used, used + size);
  used += size;
  return bytes;
}
