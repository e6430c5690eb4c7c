import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, type BatchGetCommandOutput, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
  const client = new DynamoDBClient({
    region: config.region,
    ...endpointOptions(config.endpoint),
    maxAttempts: 2,
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
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * The shape of every table, in one place: the local stack creates the tables from it
 * (`tableDefinitions`) and the CDK stack declares them from it (infra/cdk/stack.ts), so both
 * have the same keys. Every table has a string partition key `pk` and sort key `sk`, so each
 * access pattern (opposition lookup, blocked sends by controller and time, send log by
 * recipient) is a GetItem, BatchGet or Query, never a Scan.
 */
export interface TableSpec {
  partitionKey: string;
  sortKey: string;
}

export const TABLE_SPECS: Record<keyof TableNames, TableSpec> = {
  oppositions: { partitionKey: 'pk', sortKey: 'sk' },
  blockedSends: { partitionKey: 'pk', sortKey: 'sk' },
  sendLog: { partitionKey: 'pk', sortKey: 'sk' },
  contacts: { partitionKey: 'pk', sortKey: 'sk' },
};

export function tableDefinitions(tables: TableNames): CreateTableCommandInput[] {
  return (Object.keys(TABLE_SPECS) as (keyof TableNames)[]).map((kind) => {
    const spec = TABLE_SPECS[kind];
    return {
      TableName: tables[kind],
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: spec.partitionKey, AttributeType: 'S' },
        { AttributeName: spec.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: spec.partitionKey, KeyType: 'HASH' },
        { AttributeName: spec.sortKey, KeyType: 'RANGE' },
      ],
    };
  });
}

/** Creates missing tables; safe to run at every start. */
export async function ensureTables(client: DynamoDBDocumentClient, tables: TableNames): Promise<string[]> {
  const created: string[] = [];
  for (const definition of tableDefinitions(tables)) {
    try {
      await client.send(new DescribeTableCommand({ TableName: definition.TableName }));
      continue;
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
    }
    try {
      await client.send(new CreateTableCommand(definition));
      created.push(definition.TableName!);
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
    }
  }
  return created;
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

/**
 * Strongly consistent BatchGetItem across tables: keys deduplicated, 100 a call (DynamoDB's
 * limit), unprocessed keys retried a few times; throws rather than answer with part of it.
 */
export async function batchRead<const R extends readonly ReadRequest<unknown>[]>(
  db: DynamoDBDocumentClient,
  requests: R,
): Promise<Answers<R>> {
  const id = (table: string, key: { pk: unknown; sk: unknown }) => `${table}\0${String(key.pk)}\0${String(key.sk)}`;
  const wanted = new Map<string, { table: string; key: { pk: string; sk: string } }>();
  for (const request of requests)
    for (const key of request.keys) wanted.set(id(request.table, key), { table: request.table, key });
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
        for (const item of items) found.set(id(table, item as { pk: unknown; sk: unknown }), item);
      }
      for (const [table, unprocessed] of Object.entries(out.UnprocessedKeys ?? {})) {
        for (const key of unprocessed.Keys ?? []) next.push({ table, key: key as { pk: string; sk: string } });
      }
    }
    pending = next;
  }
  return requests.map((request) =>
    request.parse(request.keys.map((key) => found.get(id(request.table, key))).filter((item) => item !== undefined)),
  ) as Answers<R>;
}
