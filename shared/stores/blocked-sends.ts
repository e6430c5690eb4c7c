import { randomBytes } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { personKey } from '../address.ts';
import { DEFAULT_RETENTION, expiresAfter, type Retention } from '../retention.ts';
import { type Page, pageToken, startKey } from './dynamo.ts';
import { isConditionFailed, storeError } from './store-error.ts';

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
  /** A flagged send a reviewer looked at: who, when, what they concluded. */
  review: z.object({ by: z.string(), at: z.string(), comment: z.string() }).optional(),
});
export type BlockedSend = z.infer<typeof blockedSendSchema>;
export type NewBlockedSend = Omit<BlockedSend, 'id' | 'at' | 'outcome' | 'review'> & {
  outcome?: BlockedSend['outcome'];
};

/**
 * What the console filters blocked sends by. Each filter has an index of its own (TABLE_SPECS);
 * the most selective one given is the Query, the others narrow it in DynamoDB (a filter
 * expression on the page read), so every answer is one Query per page, never a Scan.
 */
export interface BlockedSendFilter {
  controller: string;
  /** ISO instants; `to` exclusive. */
  from?: string;
  to?: string;
  user?: string;
  sender?: string;
  /** An address, or `@domain` for every address at that domain. */
  recipient?: string;
  rule?: string;
  outcome?: 'blocked' | 'flagged';
  /** Flagged sends no one has reviewed yet (the review queue). */
  openReviews?: boolean;
}

/** Blocks per rule per day, from counters kept beside the records. */
export interface DailyCount {
  day: string;
  counts: Record<string, number>;
}

export interface BlockedSendLog {
  record(entry: NewBlockedSend): Promise<BlockedSend>;
  /** Adds what DATA revealed (subject, Message-ID) to records made at RCPT. */
  annotate(entries: BlockedSend[], details: { subject?: string; messageId?: string }): Promise<void>;
  /** Newest first. */
  list(controller: string, options?: { since?: string; limit?: number }): Promise<BlockedSend[]>;
  search(filter: BlockedSendFilter, options?: { limit?: number; page?: string }): Promise<Page<BlockedSend>>;
  get(controller: string, id: string): Promise<BlockedSend | undefined>;
  /** Marks a flagged send reviewed; false when it was already reviewed (the first review stands). */
  markReviewed(controller: string, id: string, review: { by: string; comment: string }): Promise<boolean>;
  /** Per day from `from` to `to` (YYYY-MM-DD, inclusive): records by `outcome:rule`. */
  daily(controller: string, from: string, to: string): Promise<DailyCount[]>;
}

const INDEX_OF: { filter: keyof BlockedSendFilter; index: string; attribute: string }[] = [
  { filter: 'recipient', index: 'byRecipient', attribute: 'gRecipient' },
  { filter: 'sender', index: 'bySender', attribute: 'gSender' },
  { filter: 'user', index: 'byUser', attribute: 'gUser' },
  { filter: 'rule', index: 'byRule', attribute: 'gRule' },
];

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

export class DynamoBlockedSendLog implements BlockedSendLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly retention: Retention = DEFAULT_RETENTION,
  ) {}

  async record(entry: NewBlockedSend): Promise<BlockedSend> {
    const at = new Date().toISOString();
    const full: BlockedSend = {
      ...entry,
      outcome: entry.outcome ?? 'blocked',
      at,
      id: `${at}#${randomBytes(6).toString('hex')}`,
    };
    const c = full.controller;
    const indexed = {
      gUser: `${c}#${full.user}`,
      gSender: `${c}#${full.mailFrom}`,
      gRule: `${c}#${full.rule}`,
      ...(full.recipient
        ? {
            gRecipient: `${c}#${full.recipient}`,
            gDomain: `${c}#${domainOf(full.recipient)}`,
            gPerson: personKey(c, full.recipient),
          }
        : {}),
      ...(full.outcome === 'flagged' ? { gReview: `${c}#open` } : {}),
    };
    try {
      await Promise.all([
        this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              pk: c,
              sk: full.id,
              ...indexed,
              ...full,
              expires: expiresAfter(at, { months: this.retention.blockedSendsMonths }),
            },
          }),
        ),
        // The overview's chart: one counter item per controller and day.
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: `stats#${c}`, sk: at.slice(0, 10) },
            UpdateExpression: 'ADD #k :one SET expires = :exp',
            ExpressionAttributeNames: { '#k': `${full.outcome}:${full.rule}` },
            ExpressionAttributeValues: {
              ':one': 1,
              ':exp': expiresAfter(`${at.slice(0, 10)}T23:59:59Z`, { months: this.retention.blockedSendsMonths }),
            },
          }),
        ),
      ]);
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
    const limit = options.limit ?? 100;
    const rows: BlockedSend[] = [];
    let page: string | undefined;
    do {
      const out = await this.search(
        { controller, ...(options.since ? { from: options.since } : {}) },
        { limit: Math.min(1000, limit - rows.length), page },
      );
      rows.push(...out.items);
      page = out.next;
    } while (page && rows.length < limit);
    return rows;
  }

  async search(filter: BlockedSendFilter, options: { limit?: number; page?: string } = {}): Promise<Page<BlockedSend>> {
    const c = filter.controller;
    const values: Record<string, unknown> = {};
    const names: Record<string, string> = {};
    const conditions: string[] = [];
    // The partition: the most selective filter given, else the controller's own.
    let index: string | undefined;
    let partitionAttribute = 'pk';
    let partitionValue = c;
    const domain = filter.recipient?.startsWith('@') ? filter.recipient.slice(1) : undefined;
    const chosen = domain
      ? { index: 'byDomain', attribute: 'gDomain', value: `${c}#${domain}` }
      : (() => {
          const hit = INDEX_OF.find((i) => filter[i.filter]);
          if (hit) return { index: hit.index, attribute: hit.attribute, value: `${c}#${filter[hit.filter] as string}` };
          if (filter.openReviews) return { index: 'byReview', attribute: 'gReview', value: `${c}#open` };
          return undefined;
        })();
    if (chosen) {
      index = chosen.index;
      partitionAttribute = chosen.attribute;
      partitionValue = chosen.value;
    }
    values[':p'] = partitionValue;
    let keyCondition = `${partitionAttribute} = :p`;
    if (filter.from && filter.to) {
      keyCondition += ' AND sk BETWEEN :from AND :to';
      values[':from'] = filter.from;
      values[':to'] = filter.to;
    } else if (filter.from) {
      keyCondition += ' AND sk >= :from';
      values[':from'] = filter.from;
    } else if (filter.to) {
      keyCondition += ' AND sk < :to';
      values[':to'] = filter.to;
    }
    // The other filters narrow the page.
    const narrow = (attribute: string, value: string) => {
      const n = Object.keys(names).length;
      names[`#n${n}`] = attribute;
      values[`:n${n}`] = value;
      conditions.push(`#n${n} = :n${n}`);
    };
    for (const { filter: key, attribute } of INDEX_OF) {
      const value = filter[key] as string | undefined;
      if (value && attribute !== partitionAttribute && !(key === 'recipient' && domain))
        narrow(attribute, `${c}#${value}`);
    }
    if (filter.openReviews && partitionAttribute !== 'gReview') narrow('gReview', `${c}#open`);
    if (filter.outcome) narrow('outcome', filter.outcome);
    const input: QueryCommandInput = {
      TableName: this.table,
      ...(index ? { IndexName: index } : {}),
      KeyConditionExpression: keyCondition,
      ExpressionAttributeValues: values,
      ...(conditions.length > 0 ? { FilterExpression: conditions.join(' AND '), ExpressionAttributeNames: names } : {}),
      ScanIndexForward: false,
      ExclusiveStartKey: startKey(options.page, { [partitionAttribute]: partitionValue }),
    };
    const limit = options.limit ?? 50;
    const filtered = conditions.length > 0;
    // The key of an item as DynamoDB's LastEvaluatedKey would give it: the table's, and the index's.
    const keyOf = (item: Record<string, unknown>) => ({
      pk: item.pk,
      sk: item.sk,
      ...(index ? { [partitionAttribute]: item[partitionAttribute] } : {}),
    });
    try {
      // With a filter, DynamoDB's Limit counts the items read, not those returned: read ahead in
      // larger pages, keep `limit`, and continue after the last one kept.
      const raw: Record<string, unknown>[] = [];
      let last: Record<string, unknown> | undefined;
      do {
        const out = await this.db.send(
          new QueryCommand({
            ...input,
            Limit: filtered ? Math.max(200, limit * 4) : limit - raw.length,
            ExclusiveStartKey: last ?? input.ExclusiveStartKey,
          }),
        );
        raw.push(...(out.Items ?? []));
        last = out.LastEvaluatedKey;
      } while (last && raw.length < limit);
      if (raw.length > limit) {
        raw.length = limit;
        last = keyOf(raw[limit - 1]!);
      }
      return { items: raw.map((item) => blockedSendSchema.parse(item)), next: pageToken(last) };
    } catch (err) {
      throw storeError('blocked-send search', err);
    }
  }

  async get(controller: string, id: string): Promise<BlockedSend | undefined> {
    try {
      const out = await this.db.send(
        new GetCommand({ TableName: this.table, Key: { pk: controller, sk: id }, ConsistentRead: true }),
      );
      return out.Item ? blockedSendSchema.parse(out.Item) : undefined;
    } catch (err) {
      throw storeError('blocked-send read', err);
    }
  }

  async markReviewed(controller: string, id: string, review: { by: string; comment: string }): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: controller, sk: id },
          UpdateExpression: 'SET review = :review REMOVE gReview',
          ConditionExpression: 'attribute_exists(pk) AND outcome = :flagged AND attribute_not_exists(review)',
          ExpressionAttributeValues: {
            ':review': { ...review, at: new Date().toISOString() },
            ':flagged': 'flagged',
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw storeError('blocked-send review', err);
    }
  }

  async daily(controller: string, from: string, to: string): Promise<DailyCount[]> {
    try {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': `stats#${controller}`, ':from': from, ':to': to },
        }),
      );
      return (out.Items ?? []).map((item) => {
        const counts: Record<string, number> = {};
        for (const [key, value] of Object.entries(item)) {
          if (key.includes(':') && typeof value === 'number') counts[key] = value;
        }
        return { day: String(item.sk), counts };
      });
    } catch (err) {
      throw storeError('blocked-send counts', err);
    }
  }
}
