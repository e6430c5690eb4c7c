import { BatchGetCommand, type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { NormalisedAddress } from '../address.ts';
import { incompleteBatch, isConditionFailed, storeError } from './store-error.ts';

export const OPPOSITION_ORIGINS = [
  'unsubscribe-link',
  'one-click',
  'mailto',
  'complaint',
  'hard-bounce',
  'soft-bounces',
  'manual',
  'import',
] as const;

export const oppositionSchema = z.object({
  controller: z.string(),
  /** A normalised address, or `@domain` for a whole-domain opposition. */
  subject: z.string(),
  origin: z.enum(OPPOSITION_ORIGINS),
  /** When the person asked (click time, complaint time, ...). */
  requestedAt: z.string(),
  /** When it took effect here: from this instant every send is refused. */
  effectiveAt: z.string(),
  /** Proof: the message it came from, the SES feedback id, the admin who added it, ... */
  evidence: z.record(z.string(), z.string()).default({}),
});
export type Opposition = z.infer<typeof oppositionSchema>;

export interface OppositionList {
  /** The entry that blocks this address (its own, else its domain's), or null. Throws StoreUnavailableError. */
  findBlocking(controller: string, address: NormalisedAddress): Promise<Opposition | null>;
  /** Records an opposition; an existing entry is kept (the first request is the legal record). */
  add(entry: Opposition): Promise<{ created: boolean; entry: Opposition }>;
  list(controller: string, limit?: number): Promise<Opposition[]>;
}

export function domainSubject(domain: string): string {
  return `@${domain}`;
}

export class DynamoOppositionList implements OppositionList {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async findBlocking(controller: string, address: NormalisedAddress): Promise<Opposition | null> {
    const keys = [address.address, domainSubject(address.domain)].map((sk) => ({ pk: controller, sk }));
    let items: Record<string, unknown>[];
    try {
      const out = await this.db.send(
        new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
      );
      // Unprocessed keys mean we do not know: that is not "not opposed" (fail closed).
      if (out.UnprocessedKeys && Object.keys(out.UnprocessedKeys).length > 0) {
        throw incompleteBatch('opposition lookup', 'keys');
      }
      items = out.Responses?.[this.table] ?? [];
    } catch (err) {
      throw storeError('opposition lookup', err);
    }
    const entries = items.map(fromItem);
    return entries.find((e) => e.subject === address.address) ?? entries[0] ?? null;
  }

  async add(entry: Opposition): Promise<{ created: boolean; entry: Opposition }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: entry.controller, sk: entry.subject, ...entry },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true, entry };
    } catch (err) {
      if (isConditionFailed(err)) {
        const existing = await this.get(entry.controller, entry.subject);
        return { created: false, entry: existing ?? entry };
      }
      throw storeError('opposition write', err);
    }
  }

  private async get(controller: string, subject: string): Promise<Opposition | null> {
    let items: Record<string, unknown>[];
    try {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk = :sk',
          ExpressionAttributeValues: { ':pk': controller, ':sk': subject },
          ConsistentRead: true,
        }),
      );
      items = out.Items ?? [];
    } catch (err) {
      throw storeError('opposition read', err);
    }
    return items[0] ? fromItem(items[0]) : null;
  }

  async list(controller: string, limit = 1000): Promise<Opposition[]> {
    try {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': controller },
          Limit: limit,
        }),
      );
      return (out.Items ?? []).map(fromItem);
    } catch (err) {
      throw storeError('opposition list', err);
    }
  }
}

function fromItem(item: Record<string, unknown>): Opposition {
  return oppositionSchema.parse(item);
}
