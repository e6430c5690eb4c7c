import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { batchRead, type ReadRequest } from './dynamo.ts';
import { incompleteBatch, isConditionFailed, storeError } from './store-error.ts';

/**
 * Every copy SES accepted. Three items per copy in one table, written in one BatchWriteItem:
 * - `pk = <controller>#<recipient>`, `sk = sent#<at>#<sesMessageId>`: the history of one person
 *   (data-subject access, the CLI's `sent`) as a Query;
 * - `pk = idem#<key>`, `sk = <recipient>`: the idempotency record, so a client that retries a
 *   message after a 451 does not send twice to those SES already took;
 * - `pk = ses#<sesMessageId>`, `sk = <recipient>`: which company sent an SES message, for SES
 *   feedback that arrives without its tags.
 * Deliveries (`delivered#…`) and transient bounces (`soft#…`) from SES events live here too.
 */
export const sentCopySchema = z.object({
  controller: z.string(),
  purpose: z.string().optional(),
  user: z.string(),
  recipient: z.string(),
  at: z.string(),
  sesMessageId: z.string(),
  /** The id the copy's unsubscribe token carries. */
  copyId: z.string().optional(),
  messageId: z.string().optional(),
  idempotencyKey: z.string(),
});
export type SentCopy = z.infer<typeof sentCopySchema>;

export interface SendLog {
  /** Recipients of this idempotency key SES already accepted (recipient → SES message id). */
  alreadySent(key: string, recipients: string[], notBefore: Date): Promise<Map<string, string>>;
  /** The same read, to go out with others in one batch (`batchRead`). */
  alreadySentRequest(key: string, recipients: string[], notBefore: Date): ReadRequest<Map<string, string>>;
  record(copy: SentCopy): Promise<void>;
  history(controller: string, recipient: string): Promise<SentCopy[]>;
  /** The controller that sent this SES message (for feedback without tags). */
  controllerOfSesMessage(sesMessageId: string): Promise<string | undefined>;
  recordDelivery(controller: string, recipient: string, sesMessageId: string, at: string): Promise<void>;
  /** Records one transient bounce (once per feedback id); returns how many fall in the window. */
  recordSoftBounce(controller: string, recipient: string, at: string, feedbackId: string, since: Date): Promise<number>;
}

export class DynamoSendLog implements SendLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  alreadySentRequest(key: string, recipients: string[], notBefore: Date): ReadRequest<Map<string, string>> {
    const cutoff = notBefore.toISOString();
    return {
      table: this.table,
      keys: recipients.map((r) => ({ pk: `idem#${key}`, sk: r })),
      parse: (items) => {
        const copies = items.map((item) => sentCopySchema.parse(item)).filter((copy) => copy.at >= cutoff);
        return new Map(copies.map((copy) => [copy.recipient, copy.sesMessageId]));
      },
    };
  }

  async alreadySent(key: string, recipients: string[], notBefore: Date): Promise<Map<string, string>> {
    try {
      const [found] = await batchRead(this.db, [this.alreadySentRequest(key, recipients, notBefore)]);
      return found;
    } catch (err) {
      throw storeError('send-log lookup', err);
    }
  }

  async record(copy: SentCopy): Promise<void> {
    const items = [
      { pk: `${copy.controller}#${copy.recipient}`, sk: `sent#${copy.at}#${copy.sesMessageId}`, ...copy },
      { pk: `idem#${copy.idempotencyKey}`, sk: copy.recipient, ...copy },
      { pk: `ses#${copy.sesMessageId}`, sk: copy.recipient, controller: copy.controller },
    ];
    try {
      let requests: unknown[] | undefined = items.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests && requests.length > 0; attempt++) {
        if (attempt > 5) throw incompleteBatch('send-log write', 'writes');
        const out: BatchWriteCommandOutput = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.table]: requests as never } }),
        );
        requests = out.UnprocessedItems?.[this.table];
      }
    } catch (err) {
      throw storeError('send-log write', err);
    }
  }

  async history(controller: string, recipient: string): Promise<SentCopy[]> {
    try {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sent)',
          ExpressionAttributeValues: { ':pk': `${controller}#${recipient}`, ':sent': 'sent#' },
        }),
      );
      return (out.Items ?? []).map((item) => sentCopySchema.parse(item));
    } catch (err) {
      throw storeError('send-log history', err);
    }
  }

  async controllerOfSesMessage(sesMessageId: string): Promise<string | undefined> {
    try {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `ses#${sesMessageId}` },
          Limit: 1,
        }),
      );
      const controller = out.Items?.[0]?.controller;
      return typeof controller === 'string' ? controller : undefined;
    } catch (err) {
      throw storeError('send-log lookup by SES id', err);
    }
  }

  async recordDelivery(controller: string, recipient: string, sesMessageId: string, at: string): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `${controller}#${recipient}`,
            sk: `delivered#${sesMessageId}`,
            controller,
            recipient,
            sesMessageId,
            at,
          },
        }),
      );
    } catch (err) {
      throw storeError('send-log delivery', err);
    }
  }

  async recordSoftBounce(
    controller: string,
    recipient: string,
    at: string,
    feedbackId: string,
    since: Date,
  ): Promise<number> {
    const pk = `soft#${controller}#${recipient}`;
    try {
      await this.db
        .send(
          new PutCommand({
            TableName: this.table,
            Item: { pk, sk: `${at}#${feedbackId}`, controller, recipient, at, feedbackId },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        )
        .catch((err: unknown) => {
          // SNS redelivered the same bounce: already counted.
          if (!isConditionFailed(err)) throw err;
        });
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk >= :since',
          ExpressionAttributeValues: { ':pk': pk, ':since': since.toISOString() },
          Select: 'COUNT',
          ConsistentRead: true,
        }),
      );
      return out.Count ?? 0;
    } catch (err) {
      throw storeError('send-log soft bounce', err);
    }
  }
}
