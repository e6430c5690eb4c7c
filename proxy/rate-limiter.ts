/**
 * Process-wide token bucket for the SES account's maximum send rate. Waiters are served in
 * order; a burst of up to one second's worth of tokens is allowed, as SES does. Hand-written on
 * purpose: 40 lines with one timer for all waiters, where the rate-limiting libraries on npm
 * either poll, keep a timer per waiter, or bring a scheduler this needs none of.
 */
export class RateLimiter {
  private tokens: number;
  private last = performance.now();
  private queue: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private perSecond: number) {
    this.tokens = Math.max(1, perSecond);
  }

  /** A new rate from now on (the fleet's share changed): tokens already earned are kept, up to the new burst. */
  setRate(perSecond: number): void {
    if (!(perSecond > 0) || perSecond === this.perSecond) return;
    this.refill();
    this.perSecond = perSecond;
    this.tokens = Math.min(this.tokens, Math.max(1, perSecond));
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.schedule();
    }
  }

  get rate(): number {
    return this.perSecond;
  }

  take(): Promise<void> {
    this.refill();
    if (this.queue.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.queue.push(resolve);
      this.schedule();
    });
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(Math.max(1, this.perSecond), this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(1, ((1 - this.tokens) / this.perSecond) * 1000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      while (this.queue.length > 0 && this.tokens >= 1) {
        this.tokens -= 1;
        this.queue.shift()!();
      }
      if (this.queue.length > 0) this.schedule();
    }, wait);
  }
}
