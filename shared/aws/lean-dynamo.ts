import * as ddb from '@aws-sdk/client-dynamodb';
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
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
import type { AwsCredentialIdentity } from '@smithy/types';
import { fromAttributeMap, toAttributeMap } from './attribute-values.ts';
import { type AwsConnections, awsErrorType, connectionPool, NETWORK_ERROR_CODES, postToAws } from './http.ts';
import { createSigner, type RequestSigner } from './sigv4.ts';

/**
 * The item operations Fairsend makes (Get, Put, Update, Delete, Query, Scan, BatchGet, BatchWrite)
 * sent straight as DynamoDB's JSON protocol: marshalled as AWS's util-dynamodb does
 * (`attribute-values.ts`), signed by `createSigner` (aws4, tested against AWS's SigV4 suite), one
 * POST on a keep-alive connection (`postToAws`). The SDK's client spends about 0.5 ms of CPU per
 * request of its own around the same work (middleware stack, endpoint rules, schema serde, retry
 * and user-agent), most of the relay's CPU per copy (the performance issue). Table administration
 * (Create/Describe/DeleteTable) and any other command still go through the SDK.
 *
 * Same contract as the SDK: items in and out as plain values, errors as the SDK's own exception
 * classes with `$metadata.httpStatusCode` (so `ConditionalCheckFailedException` is caught by class
 * and a throttle is a service failure), a timeout as `TimeoutError`, at most `maxAttempts` tries
 * for throttling, 5xx and network failures.
 */
export interface LeanDynamoOptions {
  region: string;
  /** https://dynamodb.<region>.amazonaws.com unless set (a local stand-in, a VPC endpoint). */
  endpoint?: string;
  credentials: () => Promise<AwsCredentialIdentity>;
  requestTimeoutMs: number;
  maxAttempts: number;
  /** Called once per request sent, with the operation and its (marshalled) input. */
  onRequest?: (operation: string, input: Record<string, unknown>) => void;
}

type Input = Record<string, unknown>;
type AttributeMap = Record<string, unknown>;

const m = (item: unknown) => (item === undefined ? undefined : toAttributeMap(item as Record<string, unknown>));
const u = (item: unknown) => (item === undefined ? undefined : fromAttributeMap(item as Record<string, unknown>));
const mapItems = (items: unknown, f: (x: unknown) => unknown) => (Array.isArray(items) ? items.map(f) : undefined);
const mapTables = (tables: unknown, f: (x: unknown) => unknown) =>
  tables && typeof tables === 'object'
    ? Object.fromEntries(Object.entries(tables as Record<string, unknown>).map(([k, v]) => [k, f(v)]))
    : undefined;
const writeRequest = (f: (x: unknown) => unknown) => (request: unknown) => {
  const r = request as { PutRequest?: { Item: unknown }; DeleteRequest?: { Key: unknown } };
  if (r.PutRequest) return { PutRequest: { Item: f(r.PutRequest.Item) } };
  if (r.DeleteRequest) return { DeleteRequest: { Key: f(r.DeleteRequest.Key) } };
  return request;
};
const keysAndAttributes = (f: (x: unknown) => unknown) => (v: unknown) => {
  const k = v as { Keys?: unknown[] };
  return { ...k, Keys: mapItems(k.Keys, f) };
};

const COMMANDS = {
  GetCommand,
  PutCommand,
  UpdateCommand,
  DeleteCommand,
  QueryCommand,
  ScanCommand,
  BatchGetCommand,
  BatchWriteCommand,
};

/** Where each operation carries items: the same attribute paths as lib-dynamodb's own key nodes. */
interface Operation {
  target: string;
  input(i: Input): Input;
  output(o: AttributeMap): AttributeMap;
}
/** Update and Delete: a key and expression values in, the item's attributes out. */
const byKey: Omit<Operation, 'target'> = {
  input: (i) => ({ ...i, Key: m(i.Key), ExpressionAttributeValues: m(i.ExpressionAttributeValues) }),
  output: (o) => ({ ...o, Attributes: u(o.Attributes) }),
};
/** Query and Scan: a start key and expression values in, a page of items and the next start key out. */
const paged: Omit<Operation, 'target'> = {
  input: (i) => ({
    ...i,
    ExclusiveStartKey: m(i.ExclusiveStartKey),
    ExpressionAttributeValues: m(i.ExpressionAttributeValues),
  }),
  output: (o) => ({ ...o, Items: mapItems(o.Items, u), LastEvaluatedKey: u(o.LastEvaluatedKey) }),
};
const OPERATIONS = new Map<unknown, Operation>(
  Object.entries({
    GetCommand: {
      target: 'GetItem',
      input: (i) => ({ ...i, Key: m(i.Key) }),
      output: (o) => ({ ...o, Item: u(o.Item) }),
    },
    PutCommand: {
      target: 'PutItem',
      input: (i) => ({ ...i, Item: m(i.Item), ExpressionAttributeValues: m(i.ExpressionAttributeValues) }),
      output: (o) => ({ ...o, Attributes: u(o.Attributes) }),
    },
    UpdateCommand: { target: 'UpdateItem', ...byKey },
    DeleteCommand: { target: 'DeleteItem', ...byKey },
    QueryCommand: { target: 'Query', ...paged },
    ScanCommand: { target: 'Scan', ...paged },
    BatchGetCommand: {
      target: 'BatchGetItem',
      input: (i) => ({ ...i, RequestItems: mapTables(i.RequestItems, keysAndAttributes(m)) }),
      output: (o) => ({
        ...o,
        Responses: mapTables(o.Responses, (items) => mapItems(items, u)),
        UnprocessedKeys: mapTables(o.UnprocessedKeys, keysAndAttributes(u)),
      }),
    },
    BatchWriteCommand: {
      target: 'BatchWriteItem',
      input: (i) => ({
        ...i,
        RequestItems: mapTables(i.RequestItems, (requests) => mapItems(requests, writeRequest(m))),
      }),
      output: (o) => ({
        ...o,
        UnprocessedItems: mapTables(o.UnprocessedItems, (requests) => mapItems(requests, writeRequest(u))),
      }),
    },
  } satisfies Record<string, Operation>).map(([name, operation]) => [
    COMMANDS[name as keyof typeof COMMANDS],
    operation,
  ]),
);

/** DynamoDB error types worth another try (besides any 5xx and network failure). */
const RETRYABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'TransactionInProgressException',
  // No answer in requestTimeoutMs: transient for the SDK's standard retry strategy too.
  'TimeoutError',
]);
const NETWORK_RETRYABLE = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  ...NETWORK_ERROR_CODES,
]);

/** An attribute value's B or BS (never an attribute's name: those hold objects, not strings). */
function base64AsBinary(key: string, value: unknown): unknown {
  if (key === 'B' && typeof value === 'string') return new Uint8Array(Buffer.from(value, 'base64'));
  if (key === 'BS' && Array.isArray(value) && value.every((v) => typeof v === 'string'))
    return value.map((v: string) => new Uint8Array(Buffer.from(v, 'base64')));
  return value;
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** The SDK's exception class for a DynamoDB error type, so callers handle both paths alike. */
function serviceError(type: string, message: string, status: number, requestId?: string): Error {
  const $metadata = { httpStatusCode: status, requestId, attempts: 1 };
  const Known = (ddb as Record<string, unknown>)[type];
  if (typeof Known === 'function' && Known.prototype instanceof DynamoDBServiceException) {
    return new (Known as new (o: object) => Error)({ message, $metadata });
  }
  return new DynamoDBServiceException({
    name: type,
    message,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata,
  });
}

export class LeanDynamoTransport {
  private readonly url: URL;
  private readonly signer: RequestSigner;
  private readonly connections: AwsConnections;

  constructor(private readonly options: LeanDynamoOptions) {
    this.url = new URL('/', options.endpoint ?? `https://dynamodb.${options.region}.amazonaws.com`);
    this.signer = createSigner({
      credentials: options.credentials,
      region: options.region,
      service: 'dynamodb',
    });
    this.connections = connectionPool(this.url);
  }

  /** Sends one operation (`GetItem`, `BatchWriteItem`, …) with a DynamoDB-JSON input; resolves to its output. */
  async call(operation: string, input: Input): Promise<AttributeMap> {
    this.options.onRequest?.(operation, input);
    // Items come marshalled with binary as base64 (toAttributeMap): plain JSON, no replacer.
    const body = JSON.stringify(input);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(operation, body);
      } catch (err) {
        const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
        const status = e.$metadata?.httpStatusCode;
        const retryable =
          (e.name !== undefined && RETRYABLE.has(e.name)) ||
          (status !== undefined && status >= 500) ||
          (e.code !== undefined && NETWORK_RETRYABLE.has(e.code));
        if (!retryable || attempt >= this.options.maxAttempts) throw err;
        // Full jitter, 25 ms base (DynamoDB's own SDK default base delay).
        await new Promise((r) => setTimeout(r, Math.random() * 25 * 2 ** attempt));
      }
    }
  }

  private async once(operation: string, body: string): Promise<AttributeMap> {
    const url = this.url;
    const { headers } = await this.signer.sign({
      method: 'POST',
      hostname: url.hostname,
      path: '/',
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.0',
        'content-length': String(Buffer.byteLength(body)),
        'x-amz-target': `DynamoDB_20120810.${operation}`,
      },
      body,
    });
    const answer = await postToAws(url, {
      headers,
      connections: this.connections,
      timeoutMs: this.options.requestTimeoutMs,
      timeoutError: () => new TimeoutError(`DynamoDB gave no answer in ${this.options.requestTimeoutMs} ms`),
      body,
    });
    const { status, text } = answer;
    let parsed: Record<string, unknown> = {};
    try {
      // Binary attributes come as base64: decoded as the SDK does (a reviver only when there may be one).
      parsed = /"BS?":/.test(text) ? JSON.parse(text, base64AsBinary) : JSON.parse(text || '{}');
    } catch {
      if (status === 200) throw serviceError('SerializationException', 'answer is not JSON', 500);
    }
    if (status === 200) return parsed;
    const type = awsErrorType(answer.headers, parsed, status);
    const message = String(parsed.message ?? parsed.Message ?? (text.slice(0, 300) || `HTTP ${status}`));
    throw serviceError(type, message, status, answer.headers['x-amzn-requestid'] as string | undefined);
  }

  destroy(): void {
    void this.connections.destroy();
  }
}

/**
 * A DynamoDBDocumentClient whose item operations take the lean path; everything else (table
 * administration) is the SDK's as before. Callers see the same `send` and the same answers.
 */
export class LeanDocumentClient extends DynamoDBDocumentClient {
  private readonly lean: LeanDynamoTransport;

  constructor(client: ddb.DynamoDBClient, options: Omit<LeanDynamoOptions, 'credentials'>) {
    super(client, { marshallOptions: { removeUndefinedValues: true } });
    this.lean = new LeanDynamoTransport({
      ...options,
      credentials: () => client.config.credentials(),
    });
  }

  // biome-ignore lint/suspicious/noExplicitAny: the SDK's overloaded send, kept as is for other commands
  override send(command: any, ...rest: any[]): any {
    const operation = rest.length === 0 ? OPERATIONS.get(command?.constructor) : undefined;
    if (operation) {
      return this.lean
        .call(operation.target, operation.input(command.input as Input))
        .then((output) => operation.output(output));
    }
    return (super.send as (...args: unknown[]) => unknown)(command, ...rest);
  }

  override destroy(): void {
    this.lean.destroy();
    super.destroy();
  }
}
