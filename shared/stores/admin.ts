import { createHash } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { smtpUserSchema } from '../config.ts';
import { PASSWORD_HASH_PATTERN } from '../password.ts';
import { queryAll } from './dynamo.ts';
import { isConditionFailed, storeError } from './store-error.ts';

/**
 * The admin table: console accounts, their sessions and login throttles, and the SMTP users
 * managed in the console. Sessions and throttle windows carry `expires` (epoch seconds), the
 * table's TTL attribute, so DynamoDB deletes them once they are over.
 */
export const ADMIN_ROLES = ['admin', 'reviewer'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export const adminAccountSchema = z.object({
  name: z.string(),
  role: z.enum(ADMIN_ROLES),
  passwordHash: z.string().regex(PASSWORD_HASH_PATTERN),
  createdAt: z.string(),
  createdBy: z.string(),
  disabled: z.boolean().optional(),
  lastLoginAt: z.string().optional(),
});
export type AdminAccount = z.infer<typeof adminAccountSchema>;

export const sessionSchema = z.object({
  account: z.string(),
  role: z.enum(ADMIN_ROLES),
  /** The CSRF token every change made in this session must carry. */
  csrf: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
});
export type AdminSession = z.infer<typeof sessionSchema>;

/** An SMTP user as the console keeps it: the config's fields, and its state. */
export const managedSmtpUserSchema = smtpUserSchema.extend({
  name: z.string(),
  disabled: z.boolean().default(false),
  updatedAt: z.string(),
  updatedBy: z.string(),
});
export type ManagedSmtpUser = z.infer<typeof managedSmtpUserSchema>;

/** Logins of an SMTP user as the relays saw them (config users too). */
export const smtpLoginsSchema = z.object({
  name: z.string(),
  lastLoginAt: z.string().optional(),
  lastLoginIp: z.string().optional(),
  /** Failed logins since the last success, and the last of them. */
  failedLogins: z.number().int().default(0),
  lastFailedAt: z.string().optional(),
  lastFailedIp: z.string().optional(),
});
export type SmtpLogins = z.infer<typeof smtpLoginsSchema>;

/**
 * A data-subject request (GDPR art. 15–21): when it came, its deadline (one month, extendable by
 * two), who handled it and how it ended. The person is kept as a keyed hash and a masked address
 * (`c***@client.example`): the register of requests outlives an erasure without the address in clear.
 */
export const REQUEST_KINDS = ['access', 'erasure', 'objection', 'rectification'] as const;
export const privacyRequestSchema = z.object({
  id: z.string(),
  controller: z.string(),
  kind: z.enum(REQUEST_KINDS),
  subjectHash: z.string(),
  subjectMasked: z.string(),
  receivedAt: z.string(),
  deadline: z.string(),
  /** How it came: e-mail to the privacy address, letter, the unsubscribe address, … */
  channel: z.string().optional(),
  note: z.string().optional(),
  extension: z.object({ until: z.string(), reason: z.string(), by: z.string() }).optional(),
  status: z.enum(['open', 'done', 'refused']),
  createdBy: z.string(),
  closedAt: z.string().optional(),
  closedBy: z.string().optional(),
  outcome: z.string().optional(),
});
export type PrivacyRequest = z.infer<typeof privacyRequestSchema>;

const SMTP_USERS = 'smtp-user';
const SMTP_LOGINS = 'smtp-login';
const epoch = (iso: string) => Math.floor(Date.parse(iso) / 1000);
/** Session ids are stored hashed: a read of the table does not give anyone a session. */
const sessionKey = (id: string) => `session#${createHash('sha256').update(id).digest('base64url')}`;

export class AdminStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw storeError(what, err);
    }
  }

  /** Every item of one partition of the admin table (accounts, SMTP users, requests: a few dozen). */
  private partition(pk: string, what: string, forward = true): Promise<Record<string, unknown>[]> {
    return this.call(what, () =>
      queryAll(this.db, {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ScanIndexForward: forward,
      }),
    );
  }

  // Accounts

  async createAccount(account: AdminAccount): Promise<boolean> {
    return this.call('admin account write', async () => {
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { pk: `account#${account.name}`, sk: 'account', ...account },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { pk: 'accounts', sk: account.name, name: account.name, role: account.role },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    });
  }

  async setAccountPassword(name: string, passwordHash: string): Promise<void> {
    await this.call('admin account write', () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `account#${name}`, sk: 'account' },
          UpdateExpression: 'SET passwordHash = :h',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':h': passwordHash },
        }),
      ),
    );
  }

  async account(name: string): Promise<AdminAccount | undefined> {
    const out = await this.call('admin account read', () =>
      this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `account#${name}`, sk: 'account' } })),
    );
    return out.Item ? adminAccountSchema.parse(out.Item) : undefined;
  }

  async anyAccount(): Promise<boolean> {
    // Accounts are few; they share one partition of the admin table.
    const out = await this.call('admin account list', () =>
      this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'accounts' },
          Limit: 1,
        }),
      ),
    );
    return (out.Items ?? []).length > 0;
  }

  async recordLogin(name: string, at: string): Promise<void> {
    await this.call('admin account write', () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `account#${name}`, sk: 'account' },
          UpdateExpression: 'SET lastLoginAt = :at',
          ExpressionAttributeValues: { ':at': at },
        }),
      ),
    );
  }

  // Sessions

  async createSession(id: string, session: AdminSession): Promise<void> {
    await this.call('session write', () =>
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: sessionKey(id), sk: 'session', ...session, expires: epoch(session.expiresAt) },
        }),
      ),
    );
  }

  /** The session, if it exists and has not expired (TTL deletes lazily: expiry is checked here). */
  async session(id: string, now = new Date()): Promise<AdminSession | undefined> {
    const out = await this.call('session read', () =>
      this.db.send(
        new GetCommand({ TableName: this.table, Key: { pk: sessionKey(id), sk: 'session' }, ConsistentRead: true }),
      ),
    );
    if (!out.Item) return undefined;
    const session = sessionSchema.parse(out.Item);
    return Date.parse(session.expiresAt) > now.getTime() ? session : undefined;
  }

  async deleteSession(id: string): Promise<void> {
    await this.call('session delete', () =>
      this.db.send(new DeleteCommand({ TableName: this.table, Key: { pk: sessionKey(id), sk: 'session' } })),
    );
  }

  // Login throttling: failures per key (an account name, a client address) in fixed windows.

  async failures(key: string, windowStart: string): Promise<number> {
    const out = await this.call('login throttle read', () =>
      this.db.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: `throttle#${key}`, sk: windowStart },
          ConsistentRead: true,
        }),
      ),
    );
    return typeof out.Item?.failures === 'number' ? out.Item.failures : 0;
  }

  async addFailure(key: string, windowStart: string, expiresAt: string): Promise<number> {
    const out = await this.call('login throttle write', () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `throttle#${key}`, sk: windowStart },
          UpdateExpression: 'ADD failures :one SET expires = :exp',
          ExpressionAttributeValues: { ':one': 1, ':exp': epoch(expiresAt) },
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    return Number(out.Attributes?.failures ?? 1);
  }

  // Data-subject requests (one partition: a company gets a handful a month)

  async putRequest(request: PrivacyRequest, expires?: number): Promise<void> {
    await this.call('request write', () =>
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: 'dsr', sk: request.id, ...request, ...(expires ? { expires } : {}) },
        }),
      ),
    );
  }

  async requests(): Promise<PrivacyRequest[]> {
    const items = await this.partition('dsr', 'request list', false);
    return items.map((item) => privacyRequestSchema.parse(item));
  }

  async request(id: string): Promise<PrivacyRequest | undefined> {
    const out = await this.call('request read', () =>
      this.db.send(new GetCommand({ TableName: this.table, Key: { pk: 'dsr', sk: id }, ConsistentRead: true })),
    );
    return out.Item ? privacyRequestSchema.parse(out.Item) : undefined;
  }

  // SMTP users

  async smtpUsers(): Promise<ManagedSmtpUser[]> {
    const users: ManagedSmtpUser[] = [];
    for (const item of await this.partition(SMTP_USERS, 'SMTP user list')) {
      const parsed = managedSmtpUserSchema.safeParse(item);
      if (parsed.success) users.push(parsed.data);
    }
    return users;
  }

  async putSmtpUser(user: ManagedSmtpUser): Promise<void> {
    await this.call('SMTP user write', () =>
      this.db.send(new PutCommand({ TableName: this.table, Item: { pk: SMTP_USERS, sk: user.name, ...user } })),
    );
  }

  async recordSmtpLogin(name: string, ok: boolean, ip: string, at: string): Promise<void> {
    await this.call('SMTP login record', () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: SMTP_LOGINS, sk: name },
          UpdateExpression: ok
            ? 'SET #n = :name, lastLoginAt = :at, lastLoginIp = :ip, failedLogins = :zero'
            : 'SET #n = :name, lastFailedAt = :at, lastFailedIp = :ip ADD failedLogins :one',
          ExpressionAttributeNames: { '#n': 'name' },
          ExpressionAttributeValues: ok
            ? { ':name': name, ':at': at, ':ip': ip, ':zero': 0 }
            : { ':name': name, ':at': at, ':ip': ip, ':one': 1 },
        }),
      ),
    );
  }

  async smtpLogins(): Promise<Map<string, SmtpLogins>> {
    const items = await this.partition(SMTP_LOGINS, 'SMTP login list');
    return new Map(items.map((item) => smtpLoginsSchema.parse(item)).map((l) => [l.name, l]));
  }
}
