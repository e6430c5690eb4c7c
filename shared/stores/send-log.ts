import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { personKey } from '../address.ts';
import { DEFAULT_RETENTION, expiresAfter, type Retention } from '../retention.ts';
import { batchRead, type Page, pageToken, type ReadRequest, startKey, writeAll } from './dynamo.ts';
import { isConditionFailed, storeError } from './store-error.ts';

/**
 * Every copy SES accepted. Three items per copy in one table, written in one BatchWriteItem:
 * - `pk = <controller>#<recipient>`, `sk = sent#<at>#<sesMessageId>`: the history of one person
 *   (data-subject access, the CLI's `sent`) as a Query;
 * - `pk = idem#<key>`, `sk = <recipient>`: the idempotency record, so a client that retries a
 *   message after a 451 does not send twice to those SES already took (when and as which SES
 *   message only: the history item holds the rest);
 * - `pk = ses#<sesMessageId>`, `sk = <recipient>`: which company sent an SES message, for SES
 *   feedback that arrives without its tags.
 * What SES said became of a copy is an event item beside its history item
 * (`pk = <controller>#<recipient>`, `sk = <kind>#<sesMessageId>`). History and event items carry
 * `gKind = <controller>#<kind>` and `gAt`, so the console lists sent copies newest first and counts
 * each kind over a period with a Query on the `byKind` index; `gMessage` finds copies by Message-ID.
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
  subject: z.string().optional(),
  idempotencyKey: z.string(),
});
export type SentCopy = z.infer<typeof sentCopySchema>;

/** An idempotency record (`pk = idem#<key>`, `sk = <recipient>`): what a retry needs of a copy sent. */
const idempotencyRecordSchema = z.object({ sk: z.string(), at: z.string(), sesMessageId: z.string() });

/** What SES reported for a copy, the worst last: a complaint outranks a delivery. */
export const COPY_EVENT_KINDS = ['delivered', 'soft-bounced', 'bounced', 'suppressed', 'complained'] as const;
export type CopyEventKind = (typeof COPY_EVENT_KINDS)[number];
export interface CopyEvent {
  kind: CopyEventKind;
  at: string;
  detail?: string;
}
export interface SentFilter {
  controller: string;
  recipient?: string;
  messageId?: string;
  from?: string;
  to?: string;
}

export interface SendLog {
  /** Recipients of this idempotency key SES already accepted (recipient → SES message id). */
  alreadySent(key: string, recipients: string[], notBefore: Date): Promise<Map<string, string>>;
  /** The same read, to go out with others in one batch (`batchRead`). */
  alreadySentRequest(key: string, recipients: string[], notBefore: Date): ReadRequest<Map<string, string>>;
  record(copy: SentCopy): Promise<void>;
  /** The copies of one message, their items in 25-item BatchWriteItem requests (8 copies each). */
  recordMany(copies: SentCopy[]): Promise<void>;
  history(controller: string, recipient: string): Promise<SentCopy[]>;
  /** The controller that sent this SES message (for feedback without tags). */
  controllerOfSesMessage(sesMessageId: string): Promise<string | undefined>;
  recordDelivery(controller: string, recipient: string, sesMessageId: string, at: string): Promise<void>;
  /** What SES said became of one copy (delivery, bounce, complaint). */
  recordEvent(controller: string, recipient: string, sesMessageId: string, event: CopyEvent): Promise<void>;
  /** Copies sent, newest first: all of a controller's, one person's, or those of one Message-ID. */
  searchSent(filter: SentFilter, options?: { limit?: number; page?: string }): Promise<Page<SentCopy>>;
  /** The events recorded for these copies, by SES message id and recipient. */
  eventsOf(copies: SentCopy[]): Promise<Map<string, CopyEvent[]>>;
  /** How many copies were sent (`sent`) or got an event of that kind over [from, to). */
  count(controller: string, kind: 'sent' | CopyEventKind, from: string, to: string): Promise<number>;
  /** Records one transient bounce (once per feedback id); returns how many fall in the window. */
  recordSoftBounce(controller: string, recipient: string, at: string, feedbackId: string, since: Date): Promise<number>;
}

export class DynamoSendLog implements SendLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly retention: Retention = DEFAULT_RETENTION,
  ) {}

  alreadySentRequest(key: string, recipients: string[], notBefore: Date): ReadRequest<Map<string, string>> {
    const cutoff = notBefore.toISOString();
    return {
      table: this.table,
      keys: recipients.map((r) => ({ pk: `idem#${key}`, sk: r })),
      parse: (items) => {
        const records = items.map((item) => idempotencyRecordSchema.parse(item)).filter((r) => r.at >= cutoff);
        return new Map(records.map((r) => [r.sk, r.sesMessageId]));
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

  record(copy: SentCopy): Promise<void> {
    return this.recordMany([copy]);
  }

  async recordMany(copies: SentCopy[]): Promise<void> {
    const items = copies.flatMap((copy) => this.itemsOf(copy));
    try {
      const batches: Promise<void>[] = [];
      for (let i = 0; i < items.length; i += 25) batches.push(writeAll(this.db, this.table, items.slice(i, i + 25)));
      await Promise.all(batches);
    } catch (err) {
      throw storeError('send-log write', err);
    }
  }

  /** A copy's three items: its history, its idempotency record, and which company sent the SES message. */
  private itemsOf(copy: SentCopy): Record<string, unknown>[] {
    return [
      {
        pk: `${copy.controller}#${copy.recipient}`,
        sk: `sent#${copy.at}#${copy.sesMessageId}`,
        gKind: `${copy.controller}#sent`,
        gAt: copy.at,
        gPerson: personKey(copy.controller, copy.recipient),
        ...(copy.messageId ? { gMessage: `${copy.controller}#${copy.messageId}` } : {}),
        ...copy,
        expires: expiresAfter(copy.at, { months: this.retention.sendLogMonths }),
      },
      {
        // What a retry needs (who was sent to, when, as which SES message), not a second copy of
        // the history item's subject, Message-ID, purpose and copy id. The version before read
        // these records as whole copies (`sentCopySchema`), and a rolling deploy or a rollback runs
        // both versions on one table: the fields that schema requires stay, until a version that
        // only needs `at` and `sesMessageId` has been the oldest running for the records' 7 days.
        pk: `idem#${copy.idempotencyKey}`,
        sk: copy.recipient,
        controller: copy.controller,
        user: copy.user,
        recipient: copy.recipient,
        at: copy.at,
        sesMessageId: copy.sesMessageId,
        idempotencyKey: copy.idempotencyKey,
        expires: expiresAfter(copy.at, { hours: this.retention.idempotencyHours }),
      },
      {
        pk: `ses#${copy.sesMessageId}`,
        sk: copy.recipient,
        controller: copy.controller,
        expires: expiresAfter(copy.at, { months: this.retention.sendLogMonths }),
      },
    ];
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

  recordDelivery(controller: string, recipient: string, sesMessageId: string, at: string): Promise<void> {
    return this.recordEvent(controller, recipient, sesMessageId, { kind: 'delivered', at });
  }

  async recordEvent(controller: string, recipient: string, sesMessageId: string, event: CopyEvent): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `${controller}#${recipient}`,
            sk: `${event.kind}#${sesMessageId}`,
            gKind: `${controller}#${event.kind}`,
            gAt: new Date(event.at).toISOString(),
            gPerson: personKey(controller, recipient),
            expires: expiresAfter(event.at, { months: this.retention.sesEventsMonths }),
            controller,
            recipient,
            sesMessageId,
            ...event,
            at: new Date(event.at).toISOString(),
          },
        }),
      );
    } catch (err) {
      throw storeError(`send-log ${event.kind}`, err);
    }
  }

  async searchSent(filter: SentFilter, options: { limit?: number; page?: string } = {}): Promise<Page<SentCopy>> {
    const c = filter.controller;
    let input: ConstructorParameters<typeof QueryCommand>[0];
    if (filter.recipient) {
      // One person's history: their partition, `sent#<at>#…` items.
      const pk = `${c}#${filter.recipient}`;
      input = {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: {
          ':pk': pk,
          ':lo': `sent#${filter.from ?? '0'}`,
          ':hi': `sent#${filter.to ?? '~'}`,
        },
        ExclusiveStartKey: startKey(options.page, { pk }),
      };
    } else {
      const [index, attribute, value] = filter.messageId
        ? ['byMessageId', 'gMessage', `${c}#${filter.messageId}`]
        : ['byKind', 'gKind', `${c}#sent`];
      input = {
        TableName: this.table,
        IndexName: index,
        KeyConditionExpression: `${attribute} = :p AND gAt BETWEEN :lo AND :hi`,
        ExpressionAttributeValues: { ':p': value, ':lo': filter.from ?? '0', ':hi': filter.to ?? '~' },
        ExclusiveStartKey: startKey(options.page, { [attribute]: value }),
      };
    }
    try {
      const out = await this.db.send(
        new QueryCommand({ ...input, ScanIndexForward: false, Limit: options.limit ?? 50 }),
      );
      return {
        items: (out.Items ?? []).map((item) => sentCopySchema.parse(item)),
        next: pageToken(out.LastEvaluatedKey),
      };
    } catch (err) {
      throw storeError('send-log search', err);
    }
  }

  async eventsOf(copies: SentCopy[]): Promise<Map<string, CopyEvent[]>> {
    const requests = copies.map((copy) => ({
      table: this.table,
      keys: COPY_EVENT_KINDS.map((kind) => ({
        pk: `${copy.controller}#${copy.recipient}`,
        sk: `${kind}#${copy.sesMessageId}`,
      })),
      parse: (items: Record<string, unknown>[]) =>
        items.map((item) => ({
          kind: item.kind as CopyEventKind,
          at: String(item.at),
          ...(typeof item.detail === 'string' ? { detail: item.detail } : {}),
        })),
    }));
    try {
      const found = await batchRead(this.db, requests);
      return new Map(copies.map((copy, i) => [`${copy.sesMessageId}#${copy.recipient}`, found[i] as CopyEvent[]]));
    } catch (err) {
      throw storeError('send-log events', err);
    }
  }

  async count(controller: string, kind: 'sent' | CopyEventKind, from: string, to: string): Promise<number> {
    let total = 0;
    let start: Record<string, unknown> | undefined;
    try {
      do {
        const out = await this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: 'byKind',
            KeyConditionExpression: 'gKind = :k AND gAt BETWEEN :from AND :to',
            ExpressionAttributeValues: { ':k': `${controller}#${kind}`, ':from': from, ':to': to },
            Select: 'COUNT',
            ExclusiveStartKey: start,
          }),
        );
        total += out.Count ?? 0;
        start = out.LastEvaluatedKey;
      } while (start);
      return total;
    } catch (err) {
      throw storeError('send-log count', err);
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
            Item: {
              pk,
              sk: `${at}#${feedbackId}`,
              controller,
              recipient,
              at,
              feedbackId,
              expires: expiresAfter(at, { days: this.retention.softBounceDays }),
            },
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
