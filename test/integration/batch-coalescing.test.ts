import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { batchRead, DynamoUsage, type ReadRequest, writeAll } from '../../shared/stores/dynamo.ts';
import { startDynamoWithTables } from '../helpers/services.ts';

/**
 * `batchRead` calls made in the same turn of the event loop (concurrent SMTP sessions' RCPT checks
 * and DATA reads) share BatchGetItem requests, against the signature-checking DynamoDB stand-in:
 * fewer requests, each caller its own answer, and one caller's invalid key fails only that caller.
 */
let dynamo: Awaited<ReturnType<typeof startDynamoWithTables>>;
let db: DynamoDBDocumentClient;
let table: string;
const usage = new DynamoUsage();

beforeAll(async () => {
  dynamo = await startDynamoWithTables(undefined, usage);
  db = dynamo.db;
  table = dynamo.config.tables.contacts;
  // 300 items: pk batch#<n mod 3>, sk item<n>.
  for (let i = 0; i < 300; i += 25) {
    await db.send(
      new BatchWriteCommand({
        RequestItems: {
          [table]: Array.from({ length: 25 }, (_, j) => ({
            PutRequest: { Item: { pk: `batch#${(i + j) % 3}`, sk: `item${i + j}`, n: i + j } },
          })),
        },
      }),
    );
  }
});
afterAll(async () => {
  await dynamo?.stop();
});
let before = 0;
let writesBefore = 0;
beforeEach(() => {
  before = usage.requests.BatchGetItemCommand ?? 0;
  writesBefore = usage.requests.BatchWriteItemCommand ?? 0;
});
/** BatchGetItem and BatchWriteItem requests sent since the test began. */
const batchGets = () => (usage.requests.BatchGetItemCommand ?? 0) - before;
const batchWrites = () => (usage.requests.BatchWriteItemCommand ?? 0) - writesBefore;

/** A read of the items n…n+count-1 (and one key that does not exist), answering their numbers. */
const read = (n: number, count = 3): ReadRequest<number[]> => ({
  table,
  keys: [
    ...Array.from({ length: count }, (_, i) => ({ pk: `batch#${(n + i) % 3}`, sk: `item${n + i}` })),
    { pk: 'batch#0', sk: `missing${n}` },
  ],
  parse: (items) => items.map((item) => item.n as number).sort((a, b) => a - b),
});
const expected = (n: number, count = 3) => Array.from({ length: count }, (_, i) => n + i);

describe('batchRead across concurrent callers', () => {
  it('answers 25 callers asking in the same turn with one BatchGetItem, each with its own items', async () => {
    const answers = await Promise.all(Array.from({ length: 25 }, (_, c) => batchRead(db, [read(c * 3)])));
    for (const [c, [items]] of answers.entries()) expect(items).toEqual(expected(c * 3));
    expect(batchGets()).toBe(1);
  });

  it('keeps each call to 100 keys: 60 callers of 6 keys (16 a call) take 4 requests', async () => {
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, c) => batchRead(db, [read(c % 30 === 0 ? 0 : c * 3), read(200, 1)])),
    );
    for (const [c, [items, shared]] of answers.entries()) {
      expect(items).toEqual(expected(c % 30 === 0 ? 0 : c * 3));
      expect(shared).toEqual([200]);
    }
    expect(batchGets()).toBe(4);
  });

  it('fails only the caller whose key DynamoDB refuses; the others get their answers', async () => {
    const bad: ReadRequest<number[]> = { table, keys: [{ pk: 'batch#0', sk: '' }], parse: () => [] };
    const outcomes = await Promise.allSettled([
      batchRead(db, [read(0)]),
      batchRead(db, [bad]),
      batchRead(db, [read(30)]),
    ]);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: [expected(0)] });
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { name: 'ValidationException' } });
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: [expected(30)] });
  });

  it('fails only the caller whose answer does not parse', async () => {
    const broken: ReadRequest<never> = {
      ...read(60),
      parse: () => {
        throw new Error('corrupt item');
      },
    };
    const outcomes = await Promise.allSettled([batchRead(db, [read(90)]), batchRead(db, [broken])]);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: [expected(90)] });
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { message: 'corrupt item' } });
    expect(batchGets()).toBe(1);
  });

  it('does not hold a read back for company: reads one after another each go at once', async () => {
    for (let c = 0; c < 3; c++) expect(await batchRead(db, [read(c * 3)])).toEqual([expected(c * 3)]);
    expect(batchGets()).toBe(3);
  });
});

describe('writeAll across concurrent callers', () => {
  const items = (caller: number, count = 3) =>
    Array.from({ length: count }, (_, i) => ({ pk: 'write#acme', sk: `c${caller}-${i}`, n: caller * 10 + i }));
  const stored = async (caller: number, count = 3) =>
    (
      await batchRead(db, [
        {
          table,
          keys: items(caller, count).map(({ pk, sk }) => ({ pk, sk })),
          parse: (found) => found.map((item) => item.n as number).sort((a, b) => a - b),
        },
      ])
    )[0];

  it('packs 20 callers of 3 items into 3 requests of at most 25, none split, all written', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, c) => writeAll(db, table, items(c))));
    expect(batchWrites()).toBe(3);
    for (let c = 0; c < 20; c++) expect(await stored(c)).toEqual([c * 10, c * 10 + 1, c * 10 + 2]);
  });

  it('never puts one key twice in a request: two callers writing the same item both succeed', async () => {
    const same = [{ pk: 'write#acme', sk: 'same', n: 1 }];
    await Promise.all([writeAll(db, table, same), writeAll(db, table, [{ ...same[0]!, n: 2 }])]);
    expect(batchWrites()).toBe(2);
  });

  it('fails only the caller whose item DynamoDB refuses; the others are written', async () => {
    const outcomes = await Promise.allSettled([
      writeAll(db, table, items(100)),
      writeAll(db, table, [{ pk: 'write#acme', sk: '' }]),
      writeAll(db, table, items(101)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes[1]).toMatchObject({ reason: { name: 'ValidationException' } });
    expect(await stored(100)).toEqual([1000, 1001, 1002]);
    expect(await stored(101)).toEqual([1010, 1011, 1012]);
  });
});
