import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuthCache } from '../../shared/auth-cache.ts';

describe('login cache', () => {
  it('remembers a successful login only for the same password and stored hash', () => {
    const cache = new AuthCache();
    expect(cache.has('alice', 'pw', 'scrypt$a')).toBe(false);
    cache.remember('alice', 'pw', 'scrypt$a');
    expect(cache.has('alice', 'pw', 'scrypt$a')).toBe(true);
    expect(cache.has('alice', 'other', 'scrypt$a')).toBe(false);
    expect(cache.has('alice', 'pw', 'scrypt$b')).toBe(false); // password changed in the config
    expect(cache.has('bob', 'pw', 'scrypt$a')).toBe(false);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('forgets after its time to live and past its size', () => {
    vi.useFakeTimers();
    const cache = new AuthCache(20, 2);
    cache.remember('a', 'p', 'h');
    vi.advanceTimersByTime(19);
    expect(cache.has('a', 'p', 'h')).toBe(true);
    vi.advanceTimersByTime(2);
    expect(cache.has('a', 'p', 'h')).toBe(false);
    cache.remember('a', 'p', 'h');
    cache.remember('b', 'p', 'h');
    cache.remember('c', 'p', 'h');
    expect(cache.has('a', 'p', 'h')).toBe(false);
    expect(cache.has('c', 'p', 'h')).toBe(true);
  });
});
