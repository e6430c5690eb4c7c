import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanDocumentClient } from '../../shared/aws/lean-dynamo.ts';
import { LOCAL_AWS_CREDENTIALS } from '../../shared/aws/local-endpoint.ts';
import { DynamoUsage } from '../../shared/stores/dynamo.ts';
import { isConditionFailed, isServiceFailure } from '../../shared/stores/store-error.ts';
import { testConfig } from '../helpers/config.ts';
import { startDynamoWithTables } from '../helpers/services.ts';

/**
 * The lean DynamoDB path (shared/aws/lean-dynamo.ts) against the signature-checking stand-in, with
 * the SDK's own document client as the reference: whatever one writes the other reads back the
 * same, errors are the SDK's classes, and a forged signature is refused.
 */
let dynamo: Awaited<ReturnType<typeof startDynamoWithTables>>;
let endpoint: string;
let lean: DynamoDBDocumentClient;
let sdk: DynamoDBDocumentClient;
let table: string;
const usage = new DynamoUsage();

beforeAll(async () => {
  dynamo = await startDynamoWithTables(undefined, usage);
  lean = dynamo.db;
  endpoint = dynamo.config.endpoint!;
  table = dynamo.config.tables.contacts;
  sdk = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: dynamo.config.region,
      endpoint,
      credentials: { ...LOCAL_AWS_CREDENTIALS },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
});
afterAll(async () => {
  sdk?.destroy();
  await dynamo?.stop();
});

const item = (sk: string) => ({
  pk: 'lean#acme',
  sk,
  text: 'Grüße, 👋',
  count: 42,
  ratio: 0.25,
  flag: true,
  nothing: null,
  list: ['a', 1, { nested: [true] }],
  map: { a: { b: 'c' }, empty: '' },
  tags: new Set(['x', 'y']),
  numbers: new Set([1, 2]),
  bytes: new Uint8Array([0, 1, 2, 250, 255]),
  blobs: new Set([new Uint8Array([1]), new Uint8Array([2, 3])]),
});

describe('the lean DynamoDB path', () => {
  it('is what createDynamoClient gives, and counts its requests', async () => {
    expect(lean).toBeInstanceOf(LeanDocumentClient);
    const before = usage.requests.PutItemCommand ?? 0;
    await lean.send(new PutCommand({ TableName: table, Item: { pk: 'lean#count', sk: '1' } }));
    expect(usage.requests.PutItemCommand).toBe(before + 1);
  });

  it('writes what the SDK reads back, and reads what the SDK wrote, every attribute type included', async () => {
    await lean.send(new PutCommand({ TableName: table, Item: item('by-lean') }));
    await sdk.send(new PutCommand({ TableName: table, Item: item('by-sdk') }));
    for (const sk of ['by-lean', 'by-sdk']) {
      const key = { pk: 'lean#acme', sk };
      const [viaLean, viaSdk] = await Promise.all([
        lean.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true })),
        sdk.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true })),
      ]);
      expect(viaLean.Item).toEqual(viaSdk.Item);
      expect(viaLean.Item).toEqual(item(sk));
    }
  });

  it('updates with expression values and returns the new attributes; deletes with a condition', async () => {
    const out = await lean.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: 'lean#acme', sk: 'by-lean' },
        UpdateExpression: 'SET #c = #c + :one, added = :added',
        ExpressionAttributeNames: { '#c': 'count' },
        ExpressionAttributeValues: { ':one': 1, ':added': { when: '2026-11-28' } },
        ReturnValues: 'ALL_NEW',
      }),
    );
    expect(out.Attributes?.count).toBe(43);
    expect(out.Attributes?.added).toEqual({ when: '2026-11-28' });
    const old = await lean.send(
      new DeleteCommand({
        TableName: table,
        Key: { pk: 'lean#acme', sk: 'by-sdk' },
        ConditionExpression: 'flag = :t',
        ExpressionAttributeValues: { ':t': true },
        ReturnValues: 'ALL_OLD',
      }),
    );
    expect(old.Attributes?.sk).toBe('by-sdk');
  });

  it('throws the SDK exception class when a condition fails, as store code expects', async () => {
    const err = await lean
      .send(
        new PutCommand({
          TableName: table,
          Item: { pk: 'lean#acme', sk: 'by-lean' },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConditionalCheckFailedException);
    expect(isConditionFailed(err)).toBe(true);
    expect((err as ConditionalCheckFailedException).$metadata.httpStatusCode).toBe(400);
  });

  it('batches writes and reads across keys, and queries and scans page by page', async () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ pk: 'lean#batch', sk: String(i).padStart(2, '0'), n: i }));
    const written = await lean.send(
      new BatchWriteCommand({ RequestItems: { [table]: many.map((Item) => ({ PutRequest: { Item } })) } }),
    );
    expect(written.UnprocessedItems ?? {}).toEqual({});
    const got = await lean.send(
      new BatchGetCommand({
        RequestItems: {
          [table]: {
            Keys: [...many.slice(0, 3), { pk: 'lean#batch', sk: 'absent' }].map(({ pk, sk }) => ({ pk, sk })),
          },
        },
      }),
    );
    expect(got.Responses?.[table]?.map((i) => i.n).sort()).toEqual([0, 1, 2]);
    const page1 = await lean.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND sk >= :from',
        ExpressionAttributeValues: { ':pk': 'lean#batch', ':from': '10' },
        Limit: 10,
      }),
    );
    expect(page1.Items?.map((i) => i.n)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(page1.LastEvaluatedKey).toEqual({ pk: 'lean#batch', sk: '19' });
    const page2 = await lean.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND sk >= :from',
        ExpressionAttributeValues: { ':pk': 'lean#batch', ':from': '10' },
        ExclusiveStartKey: page1.LastEvaluatedKey,
      }),
    );
    expect(page2.Items?.map((i) => i.n)).toEqual([20, 21, 22, 23, 24]);
    const scanned = await lean.send(
      new ScanCommand({ TableName: table, FilterExpression: 'n = :n', ExpressionAttributeValues: { ':n': 7 } }),
    );
    expect(scanned.Items).toEqual([{ pk: 'lean#batch', sk: '07', n: 7 }]);
    await lean.send(
      new BatchWriteCommand({
        RequestItems: { [table]: many.map(({ pk, sk }) => ({ DeleteRequest: { Key: { pk, sk } } })) },
      }),
    );
    const gone = await sdk.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'lean#batch' },
      }),
    );
    expect(gone.Items).toEqual([]);
  });

  it('is refused by the stand-in when signed with the wrong secret, as AWS would', async () => {
    const config = await testConfig();
    const forged = new LeanDocumentClient(
      new DynamoDBClient({
        region: config.dynamodb.region,
        endpoint,
        credentials: { ...LOCAL_AWS_CREDENTIALS, secretAccessKey: 'not-the-key' },
      }),
      { region: config.dynamodb.region, endpoint, requestTimeoutMs: 2000, maxAttempts: 2 },
    );
    const err = await forged
      .send(new GetCommand({ TableName: table, Key: { pk: 'lean#acme', sk: 'by-lean' } }))
      .catch((e: unknown) => e);
    forged.destroy();
    expect((err as Error).name).toBe('InvalidSignatureException');
    expect(isServiceFailure(err)).toBe(true);
  });
});

describe('the lean path against a DynamoDB that misbehaves', () => {
  let server: http.Server;
  let endpoint: string;
  let requests = 0;
  let answer: (res: http.ServerResponse) => void = () => {};
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => answer(res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const client = () =>
    new LeanDocumentClient(
      new DynamoDBClient({ region: 'eu-west-3', endpoint, credentials: { ...LOCAL_AWS_CREDENTIALS } }),
      { region: 'eu-west-3', endpoint, requestTimeoutMs: 300, maxAttempts: 2 },
    );
  const get = (c: DynamoDBDocumentClient) =>
    c.send(new GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' } })).then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
  const json =
    (status: number, body: unknown, headers: Record<string, string> = {}) =>
    (res: http.ServerResponse) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', ...headers });
      res.end(JSON.stringify(body));
    };

  it('retries a throttle once (maxAttempts 2), then gives the SDK-shaped error', async () => {
    const c = client();
    requests = 0;
    answer = json(400, {
      __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message: 'slow down',
    });
    const err = await get(c);
    c.destroy();
    expect(requests).toBe(2);
    expect(err.name).toBe('ProvisionedThroughputExceededException');
    expect(err.message).toBe('slow down');
    expect(isServiceFailure(err)).toBe(true);
  });

  it('does not retry a validation error', async () => {
    const c = client();
    requests = 0;
    answer = json(400, { __type: 'com.amazon.coral.validate#ValidationException', message: 'bad key' });
    const err = await get(c);
    c.destroy();
    expect(requests).toBe(1);
    expect(err.name).toBe('ValidationException');
  });

  it('turns a hung DynamoDB into a TimeoutError within requestTimeoutMs per attempt', async () => {
    const c = client();
    requests = 0;
    answer = () => {}; // never answers
    const started = Date.now();
    const err = await get(c);
    c.destroy();
    expect(err.name).toBe('TimeoutError');
    expect(requests).toBe(2);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(isServiceFailure(err)).toBe(true);
  });

  it('times out requests waiting for one of its 50 connections too: 300 at once at a hung DynamoDB all fail in bounded time', async () => {
    const c = client();
    answer = () => {}; // never answers
    const started = Date.now();
    const errors = await Promise.all(Array.from({ length: 300 }, () => get(c)));
    c.destroy();
    expect(new Set(errors.map((e) => e.name))).toEqual(new Set(['TimeoutError']));
    // 2 attempts of 300 ms each, queue included: not six waves of 50 connections, one after the other (3.6 s).
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('unmarshalls the keys and items DynamoDB leaves unprocessed', async () => {
    const c = client();
    answer = json(200, {
      Responses: { t: [{ pk: { S: 'a' }, sk: { S: '1' }, n: { N: '5' }, b: { B: 'AAEC' } }] },
      UnprocessedKeys: { t: { Keys: [{ pk: { S: 'a' }, sk: { S: '2' } }], ConsistentRead: true } },
    });
    const got = await c.send(new BatchGetCommand({ RequestItems: { t: { Keys: [{ pk: 'a', sk: '1' }] } } }));
    expect(got.Responses?.t).toEqual([{ pk: 'a', sk: '1', n: 5, b: new Uint8Array([0, 1, 2]) }]);
    expect(got.UnprocessedKeys?.t?.Keys).toEqual([{ pk: 'a', sk: '2' }]);
    answer = json(200, { UnprocessedItems: { t: [{ PutRequest: { Item: { pk: { S: 'a' }, sk: { S: '3' } } } }] } });
    const wrote = await c.send(
      new BatchWriteCommand({ RequestItems: { t: [{ PutRequest: { Item: { pk: 'a', sk: '3' } } }] } }),
    );
    expect(wrote.UnprocessedItems?.t).toEqual([{ PutRequest: { Item: { pk: 'a', sk: '3' } } }]);
    c.destroy();
  });

  it('retries a request whose connection DynamoDB closed without an answer, and the retry gets through', async () => {
    const c = client();
    requests = 0;
    let dropped = 0;
    answer = (res) => {
      if (dropped++ === 0)
        res.socket?.destroy(); // the first attempt: the connection closes, no answer
      else json(200, { Item: { pk: { S: 'a' }, sk: { S: 'b' } } })(res);
    };
    const got = await c.send(new GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' } }));
    c.destroy();
    expect(requests).toBe(2);
    expect(got.Item).toEqual({ pk: 'a', sk: 'b' });
  });

  it('gives a connection closed at every attempt as a service failure (the relay answers 4xx)', async () => {
    const c = client();
    requests = 0;
    answer = (res) => res.socket?.destroy();
    const err = await get(c);
    c.destroy();
    expect(requests).toBe(2);
    expect(isServiceFailure(err)).toBe(true);
  });

  it('gives a refused connection as a service failure (the relay answers 4xx)', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const gone = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const c = new LeanDocumentClient(
      new DynamoDBClient({ region: 'eu-west-3', endpoint: gone, credentials: { ...LOCAL_AWS_CREDENTIALS } }),
      { region: 'eu-west-3', endpoint: gone, requestTimeoutMs: 300, maxAttempts: 2 },
    );
    const err = await get(c);
    c.destroy();
    expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    expect(isServiceFailure(err)).toBe(true);
  });

  it('keeps its connections: forty requests one after another open no more than two', async () => {
    const c = client();
    let connections = 0;
    const onConnection = () => connections++;
    server.on('connection', onConnection);
    answer = json(200, { Item: { pk: { S: 'a' }, sk: { S: 'b' } } });
    for (let i = 0; i < 40; i++) await c.send(new GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' } }));
    server.off('connection', onConnection);
    c.destroy();
    // undici may open a second connection for a request sent the moment the previous answer ended,
    // before it has put that connection back (one request at a time on each); never one a request.
    expect(connections).toBeGreaterThan(0);
    expect(connections).toBeLessThanOrEqual(2);
  });

  it('keeps an idle connection for the next request 4.5 s later, as AWS gives no keep-alive hint', async () => {
    // AWS's endpoints send no Keep-Alive header; undici's default would close an idle connection
    // after 4 s, and a relay sending a message every few seconds would pay a TLS handshake each time.
    const quiet = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => json(200, { Item: { pk: { S: 'a' }, sk: { S: 'b' } } })(res));
    });
    quiet.keepAliveTimeout = 0; // no idle limit of its own, and no Keep-Alive hint
    let connections = 0;
    quiet.on('connection', () => connections++);
    await new Promise<void>((resolve) => quiet.listen(0, '127.0.0.1', () => resolve()));
    const at = `http://127.0.0.1:${(quiet.address() as AddressInfo).port}`;
    const c = new LeanDocumentClient(
      new DynamoDBClient({ region: 'eu-west-3', endpoint: at, credentials: { ...LOCAL_AWS_CREDENTIALS } }),
      { region: 'eu-west-3', endpoint: at, requestTimeoutMs: 1000, maxAttempts: 1 },
    );
    const read = () => c.send(new GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' } }));
    await read();
    await new Promise((resolve) => setTimeout(resolve, 4500));
    await read();
    c.destroy();
    quiet.closeAllConnections();
    await new Promise<void>((resolve) => quiet.close(() => resolve()));
    expect(connections).toBe(1);
  });

  it('refuses an answer that is not JSON as a service failure', async () => {
    const c = client();
    answer = (res) => res.end('<html>proxy error</html>');
    const err = await get(c);
    c.destroy();
    expect(isServiceFailure(err)).toBe(true);
  });
});
