import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { DEFAULT_RETENTION, expiresAfter, type Retention } from '../retention.ts';
import { type Page, queryPage } from './dynamo.ts';
import { storeError } from './store-error.ts';

/**
 * The audit trail: every change made in the console, the JSON API or the CLI — who, when, what,
 * why. Append-only: entries are written with a condition that they do not exist, nothing in the
 * code updates or deletes them, and in AWS no role is granted UpdateItem or DeleteItem on the table.
 */
export const auditEntrySchema = z.object({
  id: z.string(),
  at: z.string(),
  /** The admin account (console, API) or the operating-system user (CLI). */
  actor: z.string(),
  via: z.enum(['console', 'api', 'cli', 'relay']),
  action: z.string(),
  controller: z.string().optional(),
  /** What was changed: an address, `@domain`, a user name, a blocked send's id. */
  target: z.string().optional(),
  /** The justification given (required to remove an opposition). */
  reason: z.string().optional(),
  details: z.record(z.string(), z.string()).default({}),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;
export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at' | 'details'> & { details?: Record<string, string> };

const PARTITION = 'audit';

export class AuditTrail {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly retention: Retention = DEFAULT_RETENTION,
  ) {}

  async append(entry: NewAuditEntry): Promise<AuditEntry> {
    const at = new Date().toISOString();
    const full: AuditEntry = {
      ...entry,
      details: entry.details ?? {},
      at,
      id: `${at}#${randomBytes(6).toString('hex')}`,
    };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: PARTITION,
            sk: full.id,
            ...(full.target ? { gTarget: `${full.controller ?? ''}#${full.target}` } : {}),
            ...full,
            expires: expiresAfter(at, { months: this.retention.auditMonths }),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      throw storeError('audit write', err);
    }
    return full;
  }

  /** Newest first; or the entries about one target (an address, a user). */
  async list(
    options: { limit?: number; page?: string; controller?: string; target?: string } = {},
  ): Promise<Page<AuditEntry>> {
    const [index, attribute, value] = options.target
      ? ['byTarget', 'gTarget', `${options.controller ?? ''}#${options.target}`]
      : [undefined, 'pk', PARTITION];
    try {
      const page = await queryPage(this.db, {
        table: this.table,
        index,
        attribute,
        value,
        limit: options.limit ?? 50,
        page: options.page,
        newestFirst: true,
      });
      return { items: page.items.map((item) => auditEntrySchema.parse(item)), next: page.next };
    } catch (err) {
      throw storeError('audit list', err);
    }
  }
}
