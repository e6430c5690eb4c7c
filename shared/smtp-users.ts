import type { SmtpUser } from './config.ts';
import type { Logger } from './log.ts';
import type { AdminStore, ManagedSmtpUser } from './stores/admin.ts';

/** An SMTP user as the relay sees it: where it is declared, and whether it may log in. */
export interface DirectoryUser extends SmtpUser {
  name: string;
  source: 'config' | 'console';
  disabled: boolean;
}

/**
 * The SMTP users: those the config file declares, overridden by those the console manages in
 * the admin table (one Query, every `refreshMs`). A user changed, added or disabled in the console
 * takes effect on every relay within that time, without a redeploy. Until the table has been read
 * once the config's users stand (a relay that cannot read DynamoDB sends nothing anyway: the
 * opposition check fails closed); after that, a failed refresh keeps the last list read.
 */
export function mergeUsers(config: Record<string, SmtpUser>, managed: ManagedSmtpUser[]): Map<string, DirectoryUser> {
  const users = new Map<string, DirectoryUser>();
  for (const [name, user] of Object.entries(config))
    users.set(name, { ...user, name, source: 'config', disabled: false });
  for (const user of managed) {
    users.set(user.name, {
      name: user.name,
      passwordHash: user.passwordHash,
      controller: user.controller,
      allowedFrom: user.allowedFrom,
      refusalMode: user.refusalMode,
      ...(user.defaultPurpose ? { defaultPurpose: user.defaultPurpose } : {}),
      source: 'console',
      disabled: user.disabled,
    });
  }
  return users;
}

export class SmtpUserDirectory {
  private users: Map<string, DirectoryUser>;
  private timer: NodeJS.Timeout | undefined;
  private loaded = false;

  constructor(
    private readonly config: Record<string, SmtpUser>,
    private readonly store: Pick<AdminStore, 'smtpUsers'> | undefined,
    private readonly log: Logger,
    private readonly refreshMs: number,
  ) {
    this.users = mergeUsers(config, []);
  }

  /** Reads the table now and then every refreshMs. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    if (!this.store) return;
    try {
      this.users = mergeUsers(this.config, await this.store.smtpUsers());
      if (!this.loaded) this.log.info('smtp-users.loaded', { users: this.users.size });
      this.loaded = true;
    } catch (err) {
      this.log.warn('smtp-users.refresh-failed', { err, keeping: this.loaded ? 'last list read' : 'config users' });
    }
  }

  /** The user, if it exists and is not disabled. */
  get(name: string): DirectoryUser | undefined {
    const user = this.users.get(name);
    return user && !user.disabled ? user : undefined;
  }
}
