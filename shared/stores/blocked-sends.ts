import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { storeError } from './store-error.ts';

/** One refused recipient, for the admins' review. Sort key `at#id` lists them by time. */
export const blockedSendSchema = z.object({
  controller: z.string(),
  id: z.string(),
  at: z.string(),
  user: z.string(),
  mailFrom: z.string(),
  recipient: z.string(),
  /** `blocked`: not sent; `flagged`: sent, but a rule asks a reviewer to look. */
  outcome: z.enum(['blocked', 'flagged']).default('blocked'),
  /** Which rule: `opposition:address`, `opposition:domain`, `policy:no-consent`, ... */
  rule: z.string(),
  /** Why, in words. */
  reason: z.string().optional(),
  /** The reply the client got (blocked sends). */
  reply: z.string().optional(),
  purpose: z.string().optional(),
  subject: z.string().optional(),
  messageId: z.string().optional(),
});
export type BlockedSend = z.infer<typeof blockedSendSchema>;
export type NewBlockedSend = Omit<BlockedSend, 'id' | 'at' | 'outcome'> & { outcome?: BlockedSend['outcome'] };

export interface BlockedSendLog {
  record(entry: NewBlockedSend): Promise<BlockedSend>;
  /** Adds what DATA revealed (subject, Message-ID) to records made at RCPT. */
  annotate(entries: BlockedSend[], details: { subject?: string; messageId?: string }): Promise<void>;
  /** Newest first. */
  list(controller: string, options?: { since?: string; limit?: number }): Promise<BlockedSend[]>;
}

export class DynamoBlockedSendLog implements BlockedSendLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async record(entry: NewBlockedSend): Promise<BlockedSend> {
    const at = new Date().toISOString();
    const full: BlockedSend = {
      ...entry,
      outcome: entry.outcome ?? 'blocked',
      at,
      id: `${at}#${randomBytes(6).toString('hex')}`,
    };
    try {
      await this.db.send(
        new PutCommand({ TableName: this.table, Item: { pk: full.controller, sk: full.id, ...full } }),
      );
    } catch (err) {
      throw storeError('blocked-send record', err);
    }
    return full;
  }

  async annotate(entries: BlockedSend[], details: { subject?: string; messageId?: string }): Promise<void> {
    const values: Record<string, string> = {};
    const sets: string[] = [];
    if (details.subject !== undefined) {
      sets.push('subject = :subject');
      values[':subject'] = details.subject;
    }
    if (details.messageId !== undefined) {
      sets.push('messageId = :messageId');
      values[':messageId'] = details.messageId;
    }
    if (sets.length === 0) return;
    try {
      await Promise.all(
        entries.map((e) =>
          this.db.send(
            new UpdateCommand({
              TableName: this.table,
              Key: { pk: e.controller, sk: e.id },
              UpdateExpression: `SET ${sets.join(', ')}`,
              ExpressionAttributeValues: values,
            }),
          ),
        ),
      );
    } catch (err) {
      throw storeError('blocked-send annotate', err);
    }
  }

  async list(controller: string, options: { since?: string; limit?: number } = {}): Promise<BlockedSend[]> {
    const since = options.since ?? '0';
    try {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk >= :since',
          ExpressionAttributeValues: { ':pk': controller, ':since': since },
          ScanIndexForward: false,
          Limit: options.limit ?? 100,
        }),
      );
      return (out.Items ?? []).map((item) => blockedSendSchema.parse(item));
    } catch (err) {
      throw storeError('blocked-send list', err);
    }
  }
}
