import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { NETWORK_ERROR_CODES } from '../aws/http.ts';
import { StoreUnavailableError } from '../errors.ts';

/**
 * Which failures of a store call mean "the store cannot be reached or refused the request now"
 * (fail closed, retry later) and which are bugs or bad data that no retry will fix. Only the
 * first kind becomes a StoreUnavailableError; a RangeError from a bad date or a ZodError from a
 * corrupt item stays what it is, so a caller (a Lambda, the CLI) can tell them apart.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  ...NETWORK_ERROR_CODES,
]);
const CLIENT_FAILURES = new Set(['TimeoutError', 'AbortError', 'RequestTimeout', 'NetworkingError']);

export function isServiceFailure(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { $metadata?: unknown; $fault?: unknown; name?: string; code?: string };
  // Every error the AWS SDK builds from a response (throttling, 5xx, validation) carries $metadata.
  if (e.$metadata !== undefined || e.$fault !== undefined) return true;
  return (e.name !== undefined && CLIENT_FAILURES.has(e.name)) || (e.code !== undefined && NETWORK_CODES.has(e.code));
}

/** The error to throw for a failed store call: a StoreUnavailableError only for service and network failures. */
export function storeError(operation: string, err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  return isServiceFailure(err) ? new StoreUnavailableError(operation, { cause: err }) : err;
}

/** A conditional write lost (the item is not in the state the condition asked for). */
export function isConditionFailed(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException;
}

/** DynamoDB kept part of a batch back for longer than we retry: the answer is incomplete. */
export function incompleteBatch(operation: string, what: string): StoreUnavailableError {
  return new StoreUnavailableError(operation, { cause: new Error(`DynamoDB kept leaving ${what} unprocessed`) });
}
