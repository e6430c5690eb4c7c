import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimiter } from '../../proxy/rate-limiter.ts';

describe('SES send-rate token bucket', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("allows one second's burst at once, then one token per 1/rate s, in order", async () => {
    const limiter = new RateLimiter(4);
    const taken: number[] = [];
    const start = performance.now();
    for (let i = 0; i < 8; i++) void limiter.take().then(() => taken.push(Math.round(performance.now() - start)));
    await vi.advanceTimersByTimeAsync(0);
    expect(taken).toEqual([0, 0, 0, 0]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(taken).toEqual([0, 0, 0, 0, 250, 500, 750, 1000]);
  });
});
