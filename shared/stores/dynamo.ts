import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandOutput,
  ScanCommand,
  type ScanCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { LeanDocumentClient } from '../aws/lean-dynamo.ts';
import { endpointOptions } from '../aws/local-endpoint.ts';
import type { FairsendConfig } from '../config.ts';
import { incompleteBatch } from './store-error.ts';

export type DynamoConfig = FairsendConfig['dynamodb'];
export type TableNames = DynamoConfig['tables'];

/**
 * DynamoDB requests and the capacity they cost, by operation (items under 1 KB written and 4 KB
 * read, strongly consistent: one unit per key or item). For benchmarks and operators' metrics.
 */
export class DynamoUsage {
  readonly requests: Record<string, number> = {};
  readUnits = 0;
  writeUnits = 0;

  count(command: string, input: Record<string, unknown>): void {
    this.requests[command] = (this.requests[command] ?? 0) + 1;
    const items = (key: string) =>
      Object.values((input[key] ?? {}) as Record<string, unknown>).reduce<number>(
        (n, v) => n + (Array.isArray(v) ? v.length : ((v as { Keys?: unknown[] })?.Keys?.length ?? 0)),
        0,
      );
    if (command === 'BatchGetItemCommand') this.readUnits += items('RequestItems');
    else if (command === 'BatchWriteItemCommand') this.writeUnits += items('RequestItems');
    else if (/^(Get|Query|Scan)/.test(command)) this.readUnits += 1;
    else if (/^(Put|Update|Delete)/.test(command)) this.writeUnits += 1;
  }
}

/**
 * One document client per process. Requests are bounded in time: a hung DynamoDB must turn into
 * a 451 at RCPT within seconds (fail closed), not hold the SMTP session until its idle timeout.
 */
export function createDynamoClient(config: DynamoConfig, usage?: DynamoUsage): DynamoDBDocumentClient {
  const maxAttempts = 2;
  const client = new DynamoDBClient({
    region: config.region,
    ...endpointOptions(config.endpoint),
    maxAttempts,
    requestHandler: {
      requestTimeout: config.requestTimeoutMs,
      connectionTimeout: Math.min(config.requestTimeoutMs, 2000),
      // Without it the SDK only logs a warning when the timeout passes and keeps waiting.
      throwOnRequestTimeout: true,
    },
  });
  if (usage) {
    client.middlewareStack.add(
      (next, context) => (args) => {
        usage.count(context.commandName ?? 'unknown', args.input as Record<string, unknown>);
        return next(args);
      },
      { step: 'initialize', name: 'fairsendUsage' },
    );
  }
  // Item operations on the lean path (shared/aws/lean-dynamo.ts); table administration through the SDK.
  return new LeanDocumentClient(client, {
    region: config.region,
    endpoint: config.endpoint,
    requestTimeoutMs: config.requestTimeoutMs,
    maxAttempts,
    ...(usage ? { onRequest: (operation, input) => usage.count(`${operation}Command`, input) } : {}),
  });
}

/**
 * The shape of every table, in one place: the local stack creates the tables from it
 * (`tableDefinitions`) and the CDK stack declares them from it (infra/cdk/stack.ts), so both
 * have the same keys and indexes. Every table has a string partition key `pk` and sort key `sk`,
 * and every list the console shows is a Query on the key or on a global secondary index made for
 * it (blocked sends by user, sender, recipient, domain, rule or review state; sent copies by
 * controller and time or by Message-ID; oppositions by domain; audit entries by target; a person's
 * contacts, copies and blocks across their `+tag` addresses, for access and erasure), never a Scan. An index's key attributes are written only on the items it lists (sparse indexes).
 */
export interface IndexSpec {
  partitionKey: string;
  sortKey: string;
}
export interface TableSpec {
  partitionKey: string;
  sortKey: string;
  indexes: Record<string, IndexSpec>;
}

const byTime = (partitionKey: string): IndexSpec => ({ partitionKey, sortKey: 'sk' });

export const TABLE_SPECS: Record<keyof TableNames, TableSpec> = {
  oppositions: { partitionKey: 'pk', sortKey: 'sk', indexes: { byDomain: byTime('gDomain') } },
  blockedSends: {
    partitionKey: 'pk',
    sortKey: 'sk',
    indexes: {
      byUser: byTime('gUser'),
      bySender: byTime('gSender'),
      byRecipient: byTime('gRecipient'),
      byDomain: byTime('gDomain'),
      byRule: byTime('gRule'),
      byReview: byTime('gReview'),
      byPerson: byTime('gPerson'),
    },
  },
  sendLog: {
    partitionKey: 'pk',
    sortKey: 'sk',
    indexes: {
      byKind: { partitionKey: 'gKind', sortKey: 'gAt' },
      byMessageId: { partitionKey: 'gMessage', sortKey: 'gAt' },
      byPerson: { partitionKey: 'gPerson', sortKey: 'gAt' },
    },
  },
  contacts: { partitionKey: 'pk', sortKey: 'sk', indexes: { byPerson: byTime('gPerson') } },
  admin: { partitionKey: 'pk', sortKey: 'sk', indexes: {} },
  audit: { partitionKey: 'pk', sortKey: 'sk', indexes: { byTarget: byTime('gTarget') } },
};

export function tableDefinitions(tables: TableNames): CreateTableCommandInput[] {
  return (Object.keys(TABLE_SPECS) as (keyof TableNames)[]).map((kind) => {
    const spec = TABLE_SPECS[kind];
    const attributes = new Set([spec.partitionKey, spec.sortKey]);
    for (const index of Object.values(spec.indexes)) {
      attributes.add(index.partitionKey);
      attributes.add(index.sortKey);
    }
    const indexes = Object.entries(spec.indexes);
    return {
      TableName: tables[kind],
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [...attributes].map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: spec.partitionKey, KeyType: 'HASH' },
        { AttributeName: spec.sortKey, KeyType: 'RANGE' },
      ],
      ...(indexes.length > 0
        ? {
            GlobalSecondaryIndexes: indexes.map(([IndexName, index]) => ({
              IndexName,
              KeySchema: [
                { AttributeName: index.partitionKey, KeyType: 'HASH' },
                { AttributeName: index.sortKey, KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            })),
          }
        : {}),
    };
  });
}

/**
 * Creates missing tables; safe to run at every start. A local table made by an older version
 * without today's indexes is rebuilt with them, its items kept (dynalite cannot add an index to
 * a table); in AWS the CDK stack owns the tables and this is never called.
 */
export async function ensureTables(
  client: DynamoDBDocumentClient,
  tables: TableNames,
  progress: (line: string) => void = () => undefined,
): Promise<string[]> {
  const created: string[] = [];
  for (const definition of tableDefinitions(tables)) {
    let existing: TableDescription | undefined;
    try {
      existing = (await client.send(new DescribeTableCommand({ TableName: definition.TableName }))).Table;
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
    }
    const wanted = (definition.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName);
    const have = new Set((existing?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
    if (existing && wanted.every((name) => have.has(name))) continue;
    const kept: Record<string, unknown>[] = [];
    if (existing) {
      progress(`rebuilding local table ${definition.TableName} with its new indexes (items kept)`);
      let start: Record<string, unknown> | undefined;
      do {
        const page: ScanCommandOutput = await client.send(
          new ScanCommand({ TableName: definition.TableName, ExclusiveStartKey: start }),
        );
        kept.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      await client.send(new DeleteTableCommand({ TableName: definition.TableName }));
      await waitFor(client, definition.TableName!, false);
    }
    try {
      await client.send(new CreateTableCommand(definition));
      created.push(definition.TableName!);
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
    }
    await waitFor(client, definition.TableName!, true);
    for (let i = 0; i < kept.length; i += 25) {
      await writeAll(client, definition.TableName!, kept.slice(i, i + 25));
    }
  }
  return created;
}

async function waitFor(client: DynamoDBDocumentClient, table: string, active: boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const out = await client.send(new DescribeTableCommand({ TableName: table }));
      if (active && out.Table?.TableStatus === 'ACTIVE') return;
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
      if (!active) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`table ${table} did not become ${active ? 'active' : 'deleted'}`);
}

/** Puts items, 25 to a BatchWriteItem, retrying what DynamoDB leaves unprocessed. */
export function writeAll(
  client: DynamoDBDocumentClient,
  table: string,
  items: Record<string, unknown>[],
): Promise<void> {
  return batchWrite(
    client,
    table,
    items.map((Item) => ({ PutRequest: { Item } })),
    `write to ${table}`,
    'writes',
  );
}

/** Deletes items by key, 25 to a BatchWriteItem, retrying what DynamoDB leaves unprocessed. */
export function deleteAll(
  client: DynamoDBDocumentClient,
  table: string,
  keys: { pk: string; sk: string }[],
): Promise<void> {
  return batchWrite(
    client,
    table,
    keys.map((Key) => ({ DeleteRequest: { Key } })),
    `delete from ${table}`,
    'deletes',
  );
}

/** The writes waiting for the next flush, per client (see `batchWrite`). */
interface WaitingWrite {
  table: string;
  requests: unknown[];
  what: string;
  unit: string;
  resolve(): void;
  reject(err: unknown): void;
}
const waitingWrites = new WeakMap<DynamoDBDocumentClient, WaitingWrite[]>();
const BATCH_WRITE_ITEMS = 25;

/**
 * Puts and deletes, 25 to a BatchWriteItem. Like `batchRead`, the writes asked for in the same
 * turn of the event loop go out together: the send-log records of concurrent sessions' copies
 * share requests. A caller's writes are never split across groups unless they are more than 25,
 * no key appears twice in a request (DynamoDB refuses that), and a caller learns its writes are
 * done only when every one of them is. A group DynamoDB refuses as invalid is written again
 * caller by caller, so one session's bad item cannot fail the others' writes.
 */
function batchWrite(
  client: DynamoDBDocumentClient,
  table: string,
  all: unknown[],
  what: string,
  unit: string,
): Promise<void> {
  if (all.length === 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) =>
    queueForTurn(waitingWrites, client, { table, requests: all, what, unit, resolve, reject }, (queue) => {
      const byTable = new Map<string, WaitingWrite[]>();
      for (const waiting of queue) {
        const writes = byTable.get(waiting.table);
        if (writes) writes.push(waiting);
        else byTable.set(waiting.table, [waiting]);
      }
      for (const [name, writes] of byTable) void flushWrites(client, name, writes);
    }),
  );
}

/**
 * Queues `waiting` for `client`'s flush at the end of the current event-loop turn: the first
 * caller of a turn schedules it (a `setImmediate`), and it gets everything queued until then.
 */
function queueForTurn<W>(
  queues: WeakMap<DynamoDBDocumentClient, W[]>,
  client: DynamoDBDocumentClient,
  waiting: W,
  flush: (queue: W[]) => void,
): void {
  let queue = queues.get(client);
  if (!queue) {
    const turn: W[] = [];
    queue = turn;
    queues.set(client, turn);
    setImmediate(() => {
      queues.delete(client);
      flush(turn);
    });
  }
  queue.push(waiting);
}

/** The key a put or delete writes. */
const writeKey = (request: unknown) => {
  const r = request as {
    PutRequest?: { Item: { pk: unknown; sk: unknown } };
    DeleteRequest?: { Key: { pk: unknown; sk: unknown } };
  };
  return r.PutRequest?.Item ?? r.DeleteRequest?.Key ?? { pk: undefined, sk: undefined };
};

async function flushWrites(client: DynamoDBDocumentClient, table: string, queue: WaitingWrite[]): Promise<void> {
  const write = (requests: unknown[], w: WaitingWrite) => writeItems(client, table, requests, w.what, w.unit);
  await sendGroups(
    packGroups(
      queue,
      BATCH_WRITE_ITEMS,
      (w) => w.requests.length,
      (w) => w.requests.map((r) => itemId(table, writeKey(r))),
    ),
    {
      together: async (group) => {
        await write(
          group.flatMap((w) => w.requests),
          group[0]!,
        );
        for (const waiting of group) waiting.resolve();
      },
      alone: (waiting) => write(waiting.requests, waiting).then(waiting.resolve),
    },
  );
}

async function writeItems(
  client: DynamoDBDocumentClient,
  table: string,
  all: unknown[],
  what: string,
  unit: string,
): Promise<void> {
  for (let i = 0; i < all.length; i += BATCH_WRITE_ITEMS) {
    let requests: unknown[] | undefined = all.slice(i, i + BATCH_WRITE_ITEMS);
    for (let attempt = 0; requests && requests.length > 0; attempt++) {
      if (attempt > 5) throw incompleteBatch(what, unit);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      const out: BatchWriteCommandOutput = await client.send(
        new BatchWriteCommand({ RequestItems: { [table]: requests as never } }),
      );
      requests = out.UnprocessedItems?.[table];
    }
  }
}

/** Every item of a Query, page after page (for a person's data: a few hundred items at most). */
export async function queryAll(
  client: DynamoDBDocumentClient,
  input: ConstructorParameters<typeof QueryCommand>[0],
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out: QueryCommandOutput = await client.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** A page of a list, and the token that asks for the next one (absent on the last page). */
export interface Page<T> {
  items: T[];
  next?: string;
}

/**
 * One page of one partition, of the table or of one of its indexes (`attribute` is the
 * partition key's name there), continuing from a page token that must belong to that partition.
 */
export async function queryPage(
  client: DynamoDBDocumentClient,
  query: {
    table: string;
    index?: string | undefined;
    attribute: string;
    value: string;
    limit: number;
    page?: string | undefined;
    newestFirst?: boolean;
  },
): Promise<Page<Record<string, unknown>>> {
  const out: QueryCommandOutput = await client.send(
    new QueryCommand({
      TableName: query.table,
      ...(query.index ? { IndexName: query.index } : {}),
      KeyConditionExpression: '#p = :p',
      ExpressionAttributeNames: { '#p': query.attribute },
      ExpressionAttributeValues: { ':p': query.value },
      ScanIndexForward: !query.newestFirst,
      Limit: query.limit,
      ExclusiveStartKey: startKey(query.page, { [query.attribute]: query.value }),
    }),
  );
  return { items: out.Items ?? [], next: pageToken(out.LastEvaluatedKey) };
}

/**
 * Continuation tokens are DynamoDB's LastEvaluatedKey, base64url JSON: opaque to the browser, and
 * a forged one can only start a Query at another key of the same partition, which DynamoDB checks.
 */
export function pageToken(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

export class PageTokenError extends Error {
  override readonly name = 'PageTokenError';
}

export function startKey(
  token: string | undefined,
  partitionAttributes: Record<string, string>,
): Record<string, string> | undefined {
  if (!token) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new PageTokenError('invalid page token');
  }
  const parsed = z.record(z.string(), z.string()).safeParse(key);
  if (!parsed.success) throw new PageTokenError('invalid page token');
  for (const [attribute, value] of Object.entries(partitionAttributes)) {
    if (parsed.data[attribute] !== value) throw new PageTokenError('the page token belongs to another list');
  }
  return parsed.data;
}

/**
 * One read a caller needs from one table: its keys, and how to turn the items found into an
 * answer. Several of them, on several tables, go out as one BatchGetItem (`batchRead`), so the
 * relay reads contacts, already-sent copies and oppositions for a message in one round trip.
 */
export interface ReadRequest<T> {
  table: string;
  keys: { pk: string; sk: string }[];
  parse(items: Record<string, unknown>[]): T;
}

type Answers<R extends readonly ReadRequest<unknown>[]> = {
  [K in keyof R]: R[K] extends ReadRequest<infer T> ? T : never;
};

/** The reads waiting for the next flush, per client (see `batchRead`). */
interface WaitingRead {
  requests: readonly ReadRequest<unknown>[];
  resolve(answers: unknown[]): void;
  reject(err: unknown): void;
}
const waitingReads = new WeakMap<DynamoDBDocumentClient, WaitingRead[]>();
const BATCH_GET_KEYS = 100;

/**
 * Strongly consistent BatchGetItem across tables: keys deduplicated, 100 a call (DynamoDB's
 * limit), unprocessed keys retried a few times; throws rather than answer with part of it.
 *
 * Reads asked for in the same turn of the event loop go out together (up to 100 keys a call):
 * the RCPT checks and DATA reads of concurrent SMTP sessions share a BatchGetItem where each
 * would have sent its own (the performance issue: fewer requests, less CPU a copy). Nothing waits
 * for more: the flush runs as soon as the current turn ends. Each caller gets its own answers or
 * the batch's error (fail closed as before); a batch DynamoDB refuses as invalid is read again
 * caller by caller, so one session's bad key cannot fail the others'.
 */
export function batchRead<const R extends readonly ReadRequest<unknown>[]>(
  db: DynamoDBDocumentClient,
  requests: R,
): Promise<Answers<R>> {
  return new Promise<unknown[]>((resolve, reject) =>
    queueForTurn(waitingReads, db, { requests, resolve, reject }, (queue) => void flushReads(db, queue)),
  ) as Promise<Answers<R>>;
}

async function flushReads(db: DynamoDBDocumentClient, queue: WaitingRead[]): Promise<void> {
  const keys = (w: WaitingRead) => w.requests.reduce((n, r) => n + r.keys.length, 0);
  const answer = (waiting: WaitingRead, found: Map<string, Record<string, unknown>>) => {
    try {
      waiting.resolve(answers(waiting.requests, found));
    } catch (err) {
      waiting.reject(err);
    }
  };
  await sendGroups(packGroups(queue, BATCH_GET_KEYS, keys), {
    together: async (group) => {
      const found = await readItems(
        db,
        group.flatMap((w) => w.requests),
      );
      for (const waiting of group) answer(waiting, found);
    },
    alone: (waiting) => readItems(db, waiting.requests).then((found) => answer(waiting, found)),
  });
}

/**
 * Callers gathered in one turn, packed whole and in order into groups of at most `capacity` keys
 * (`size` of each; a caller with more is a group of its own). With `keysOf`, no key twice in a
 * group (BatchWriteItem refuses duplicates; BatchGetItem's are removed by `readItems`).
 */
function packGroups<W>(queue: W[], capacity: number, size: (w: W) => number, keysOf?: (w: W) => string[]): W[][] {
  const groups: W[][] = [];
  let used = capacity;
  let keys = new Set<string>();
  for (const waiting of queue) {
    const n = size(waiting);
    const own = keysOf?.(waiting) ?? [];
    if (used + n > capacity || own.some((k) => keys.has(k))) {
      groups.push([]);
      used = 0;
      keys = new Set();
    }
    groups.at(-1)!.push(waiting);
    used += n;
    for (const k of own) keys.add(k);
  }
  return groups;
}

/**
 * Each group as one call (`together`), a lone caller `alone`. A group DynamoDB refuses as invalid
 * is sent again caller by caller, so one session's bad key cannot fail the others'; any other
 * error fails every caller of the group, as it would have failed each of them.
 */
async function sendGroups<W extends { reject(err: unknown): void }>(
  groups: W[][],
  send: { together(group: W[]): Promise<void>; alone(waiting: W): Promise<void> },
): Promise<void> {
  const alone = (waiting: W) => send.alone(waiting).catch(waiting.reject);
  await Promise.all(
    groups.map(async (group) => {
      if (group.length === 1) return alone(group[0]!);
      try {
        await send.together(group);
      } catch (err) {
        if ((err as { name?: string }).name === 'ValidationException') return Promise.all(group.map(alone));
        for (const waiting of group) waiting.reject(err);
      }
    }),
  );
}

const itemId = (table: string, key: { pk: unknown; sk: unknown }) => `${table}\0${String(key.pk)}\0${String(key.sk)}`;

function answers(requests: readonly ReadRequest<unknown>[], found: Map<string, Record<string, unknown>>): unknown[] {
  return requests.map((request) =>
    request.parse(
      request.keys.map((key) => found.get(itemId(request.table, key))).filter((item) => item !== undefined),
    ),
  );
}

/** Every item of the requests' keys, by `itemId`. */
async function readItems(
  db: DynamoDBDocumentClient,
  requests: readonly ReadRequest<unknown>[],
): Promise<Map<string, Record<string, unknown>>> {
  const wanted = new Map<string, { table: string; key: { pk: string; sk: string } }>();
  for (const request of requests)
    for (const key of request.keys) wanted.set(itemId(request.table, key), { table: request.table, key });
  const found = new Map<string, Record<string, unknown>>();
  let pending = [...wanted.values()];
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt > 5) throw incompleteBatch('batch read', 'keys');
    const next: typeof pending = [];
    for (let i = 0; i < pending.length; i += 100) {
      const RequestItems: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: boolean }> = {};
      for (const { table, key } of pending.slice(i, i + 100)) {
        RequestItems[table] ??= { Keys: [], ConsistentRead: true };
        RequestItems[table].Keys.push(key);
      }
      const out: BatchGetCommandOutput = await db.send(new BatchGetCommand({ RequestItems }));
      for (const [table, items] of Object.entries(out.Responses ?? {})) {
        for (const item of items) found.set(itemId(table, item as { pk: unknown; sk: unknown }), item);
      }
      for (const [table, unprocessed] of Object.entries(out.UnprocessedKeys ?? {})) {
        for (const key of unprocessed.Keys ?? []) next.push({ table, key: key as { pk: string; sk: string } });
      }
    }
    pending = next;
  }
  return found;
}
