import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { NormalisedAddress } from '../address.ts';
import { blockingEntry, type OppositionMatching, oppositionSubjects } from '../rules/opposition.ts';
import { batchRead, type ReadRequest } from './dynamo.ts';
import { isConditionFailed, storeError } from './store-error.ts';

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
  /** A domain entry: does it cover subdomains too? (absent: yes) */
  includeSubdomains: z.boolean().optional(),
});
export type Opposition = z.infer<typeof oppositionSchema>;

export interface OppositionList {
  /**
   * The entry that blocks each address (see shared/rules/opposition.ts for which entries can),
   * keyed by normalised address; addresses not blocked are absent. One strongly consistent batch
   * read for all of them. Throws StoreUnavailableError.
   */
  findBlocking(
    controller: string,
    addresses: NormalisedAddress[],
    matching: OppositionMatching,
  ): Promise<Map<string, Opposition>>;
  /** The same read, to go out with others in one batch (`batchRead`). */
  findBlockingRequest(
    controller: string,
    addresses: NormalisedAddress[],
    matching: OppositionMatching,
  ): ReadRequest<Map<string, Opposition>>;
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

  findBlockingRequest(
    controller: string,
    addresses: NormalisedAddress[],
    matching: OppositionMatching,
  ): ReadRequest<Map<string, Opposition>> {
    const subjects = new Set(addresses.flatMap((a) => oppositionSubjects(a, matching)));
    return {
      table: this.table,
      keys: [...subjects].map((sk) => ({ pk: controller, sk })),
      parse: (items) => {
        const entries = items.map(fromItem);
        const blocking = new Map<string, Opposition>();
        for (const address of addresses) {
          const entry = blockingEntry(address, entries, matching);
          if (entry) blocking.set(address.address, entry);
        }
        return blocking;
      },
    };
  }

  async findBlocking(
    controller: string,
    addresses: NormalisedAddress[],
    matching: OppositionMatching,
  ): Promise<Map<string, Opposition>> {
    try {
      // Unprocessed keys mean we do not know: batchRead retries, then throws (fail closed).
      const [found] = await batchRead(this.db, [this.findBlockingRequest(controller, addresses, matching)]);
      return found;
    } catch (err) {
      throw storeError('opposition lookup', err);
    }
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
