import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { NormalisedAddress } from '../address.ts';
import { blockingEntry, type OppositionMatching, oppositionSubjects } from '../rules/opposition.ts';
import { batchRead, type Page, queryPage, type ReadRequest } from './dynamo.ts';
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
  /** An erased person: the entry's subject is a keyed hash of their address (rules/opposition.ts). */
  'erasure',
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
  /**
   * A page of the list: every entry, or those of one address (its entry and its domain's), or of
   * one `@domain` (the domain's entry and every address at it, from the `byDomain` index).
   */
  search(controller: string, query?: string, options?: { limit?: number; page?: string }): Promise<Page<Opposition>>;
  get(controller: string, subject: string): Promise<Opposition | null>;
  /** Deletes an entry and returns it (null when there was none); the caller keeps the justification. */
  remove(controller: string, subject: string): Promise<Opposition | null>;
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
          Item: {
            pk: entry.controller,
            sk: entry.subject,
            // An erased person's entry is a hash: it is listed by nothing that would tell its domain.
            ...(entry.subject.startsWith('#')
              ? {}
              : { gDomain: `${entry.controller}#${entry.subject.slice(entry.subject.lastIndexOf('@') + 1)}` }),
            ...entry,
          },
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

  async get(controller: string, subject: string): Promise<Opposition | null> {
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

  async remove(controller: string, subject: string): Promise<Opposition | null> {
    try {
      const out = await this.db.send(
        new DeleteCommand({ TableName: this.table, Key: { pk: controller, sk: subject }, ReturnValues: 'ALL_OLD' }),
      );
      return out.Attributes ? fromItem(out.Attributes) : null;
    } catch (err) {
      throw storeError('opposition removal', err);
    }
  }

  async search(
    controller: string,
    query?: string,
    options: { limit?: number; page?: string } = {},
  ): Promise<Page<Opposition>> {
    const limit = options.limit ?? 50;
    try {
      if (query && !query.startsWith('@')) {
        // One address: its own entry and its domain's (no paging: at most two).
        const domain = query.slice(query.lastIndexOf('@') + 1);
        const found = await Promise.all([this.get(controller, query), this.get(controller, domainSubject(domain))]);
        return { items: found.filter((e): e is Opposition => e !== null) };
      }
      const [index, attribute, value] = query
        ? ['byDomain', 'gDomain', `${controller}#${query.slice(1)}`]
        : [undefined, 'pk', controller];
      const page = await queryPage(this.db, { table: this.table, index, attribute, value, limit, page: options.page });
      return { items: page.items.map(fromItem), next: page.next };
    } catch (err) {
      throw storeError('opposition search', err);
    }
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
