import { describe, expect, it } from 'vitest';
import { pooledRandomBytes } from '../../shared/random-pool.ts';

describe('pooled random bytes', () => {
  it('hands out each byte once, across refills of the pool', () => {
    // 3,000 draws of 9 bytes go through the 4 KB pool more than six times.
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const bytes = pooledRandomBytes(9);
      expect(bytes.length).toBe(9);
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(3000);
  });

  it('gives a copy: bytes handed out do not change when the pool is refilled', () => {
    const drawn = pooledRandomBytes(12);
    const kept = Buffer.from(drawn);
    for (let i = 0; i < 1000; i++) pooledRandomBytes(12); // 12 KB: the pool is refilled at least twice
    expect(drawn.equals(kept)).toBe(true);
  });

  it('serves sizes larger than the pool straight from the CSPRNG', () => {
    const big = pooledRandomBytes(10_000);
    expect(big.length).toBe(10_000);
    expect(new Set(big).size).toBeGreaterThan(200);
  });

  it('looks uniform: each byte value about equally often', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 256 * 40; i++) counts[pooledRandomBytes(1)[0]!]!++;
    // 40 expected per value; a Poisson count stays within 0..100 with overwhelming probability.
    expect(Math.min(...counts)).toBeGreaterThan(5);
    expect(Math.max(...counts)).toBeLessThan(100);
  });
});
