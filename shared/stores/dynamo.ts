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
 * Strongly consistent BatchGetItem over any number of keys: chunks of 100 (DynamoDB's limit),
 * retrying unprocessed keys a few times. Throws rather than return a partial answer.
 */
export async function batchGetAll(
  db: DynamoDBDocumentClient,
  table: string,
  keys: Record<string, unknown>[],
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending: Record<string, unknown>[] | undefined = keys.slice(i, i + 100);
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      if (attempt > 5) throw incompleteBatch('batch read', 'keys');
      const out: BatchGetCommandOutput = await db.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
      );
      items.push(...(out.Responses?.[table] ?? []));
      pending = out.UnprocessedKeys?.[table]?.Keys;
    }
  }
  return items;
}
