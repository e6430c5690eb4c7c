import { randomBytes } from 'node:crypto';
import { decoyHash, verifyPassword } from '../password.ts';
import type { AdminSession, AdminStore } from '../stores/admin.ts';

/**
 * Console logins: scrypt-hashed accounts, sessions kept server-side (the cookie holds a random
 * id; the table holds its hash, the role, the CSRF token and the expiry), and login throttling
 * per account and per client address in fixed windows kept in DynamoDB, so every Lambda instance
 * and the local server count the same failures.
 */
export interface AuthOptions {
  sessionHours: number;
  windowMinutes: number;
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
}

export const DEFAULT_AUTH: AuthOptions = {
  sessionHours: 8,
  windowMinutes: 15,
  maxFailuresPerAccount: 5,
  maxFailuresPerIp: 20,
};

export type LoginResult =
  | { ok: true; id: string; session: AdminSession }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

export class ConsoleAuth {
  constructor(
    private readonly store: AdminStore,
    readonly options: AuthOptions = DEFAULT_AUTH,
  ) {}

  private window(now: Date): { start: string; end: Date } {
    const size = this.options.windowMinutes * 60_000;
    const start = Math.floor(now.getTime() / size) * size;
    return { start: new Date(start).toISOString(), end: new Date(start + size) };
  }

  async login(name: string, password: string, ip: string, now = new Date()): Promise<LoginResult> {
    const { start, end } = this.window(now);
    const accountKey = `account:${name.slice(0, 64)}`;
    const ipKey = `ip:${ip}`;
    const [byAccount, byIp] = await Promise.all([
      this.store.failures(accountKey, start),
      this.store.failures(ipKey, start),
    ]);
    if (byAccount >= this.options.maxFailuresPerAccount || byIp >= this.options.maxFailuresPerIp) {
      return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil((end.getTime() - now.getTime()) / 1000) };
    }
    const account = /^[A-Za-z0-9._@+-]{1,64}$/.test(name) ? await this.store.account(name) : undefined;
    // An unknown account costs the same scrypt as a known one: no telling which exist.
    const ok = await verifyPassword(password, account?.passwordHash ?? (await decoyHash()));
    if (!ok || !account || account.disabled) {
      const expires = new Date(end.getTime() + 60_000).toISOString();
      await Promise.all([
        this.store.addFailure(accountKey, start, expires),
        this.store.addFailure(ipKey, start, expires),
      ]);
      return { ok: false, reason: 'invalid' };
    }
    const id = randomBytes(32).toString('base64url');
    const session: AdminSession = {
      account: account.name,
      role: account.role,
      csrf: randomBytes(24).toString('base64url'),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.options.sessionHours * 3_600_000).toISOString(),
    };
    await this.store.createSession(id, session);
    await this.store.recordLogin(account.name, now.toISOString());
    return { ok: true, id, session };
  }

  session(id: string): Promise<AdminSession | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return Promise.resolve(undefined);
    return this.store.session(id);
  }

  logout(id: string): Promise<void> {
    return this.store.deleteSession(id);
  }
}
