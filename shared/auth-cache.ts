import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Remembers successful SMTP logins for a few minutes, so a client that opens one connection per
 * message (most mail-merge tools) pays for scrypt once, not on every message (as Dovecot's auth
 * cache does). Entries are keyed by an HMAC of user, password and stored hash under a random
 * per-process key: nothing usable leaks from memory, a password change invalidates the entry, and
 * a failed login is never cached.
 */
export class AuthCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, { mac: Buffer; expires: number }>();

  constructor(
    private readonly ttlMs = 5 * 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  private mac(user: string, password: string, storedHash: string): Buffer {
    return createHmac('sha256', this.key)
      .update(user)
      .update('\0')
      .update(password)
      .update('\0')
      .update(storedHash)
      .digest();
  }

  has(user: string, password: string, storedHash: string): boolean {
    const entry = this.entries.get(user);
    if (!entry || entry.expires < Date.now()) return false;
    return timingSafeEqual(entry.mac, this.mac(user, password, storedHash));
  }

  remember(user: string, password: string, storedHash: string): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(user, { mac: this.mac(user, password, storedHash), expires: Date.now() + this.ttlMs });
  }
}
