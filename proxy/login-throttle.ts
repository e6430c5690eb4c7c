/**
 * Failed SMTP logins, per client address and per user name, in a sliding window: each failure
 * makes the next answer wait longer (250 ms, doubling, at most 4 s), and past the limit the
 * address (or the user name) is refused for the rest of the window with 454 4.7.0, without the
 * password even being checked. Per user as well as per address, because a guesser spreads over
 * addresses; the per-user limit is higher, since it also lets a guesser slow the real user down.
 */
export interface LoginThrottleOptions {
  windowMinutes: number;
  maxFailuresPerIp: number;
  maxFailuresPerUser: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export type LoginCheck = { allowed: true } | { allowed: false; retryInSeconds: number; reason: string };

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly options: LoginThrottleOptions,
    private readonly now: () => number = Date.now,
  ) {}

  check(ip: string, user: string): LoginCheck {
    for (const [key, max, what] of [
      [`ip:${ip}`, this.options.maxFailuresPerIp, 'your address'],
      [`user:${user}`, this.options.maxFailuresPerUser, 'this user name'],
    ] as const) {
      const list = this.recent(key);
      if (list.length >= max) {
        const retryInSeconds = Math.ceil((list[0]! + this.windowMs - this.now()) / 1000);
        return { allowed: false, retryInSeconds, reason: `too many failed logins from ${what}` };
      }
    }
    return { allowed: true };
  }

  /** Records a failure; returns how long to wait before answering it. */
  fail(ip: string, user: string): number {
    let worst = 0;
    for (const key of [`ip:${ip}`, `user:${user}`]) {
      const list = this.recent(key);
      list.push(this.now());
      this.failures.set(key, list);
      worst = Math.max(worst, list.length);
    }
    this.prune();
    return Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (worst - 1));
  }

  private get windowMs(): number {
    return this.options.windowMinutes * 60_000;
  }

  private recent(key: string): number[] {
    const since = this.now() - this.windowMs;
    return (this.failures.get(key) ?? []).filter((t) => t > since);
  }

  /** Bounded memory under a spray of user names: forget keys whose failures are all old. */
  private prune(): void {
    if (this.failures.size < 10_000) return;
    const since = this.now() - this.windowMs;
    for (const [key, list] of this.failures) if (list.at(-1)! <= since) this.failures.delete(key);
  }
}

/** A user name as a log may show it: in full only when it is a configured user, else masked (it may be a mistyped password). */
export function loggableUser(name: string, known: boolean): string {
  if (known) return name;
  return `${name.slice(0, 2)}… (${name.length} characters, unknown)`;
}
