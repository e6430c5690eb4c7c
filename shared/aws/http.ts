import { Readable } from 'node:stream';
import { type Dispatcher, Pool } from 'undici';

/**
 * What the requests Fairsend sends to AWS itself (the lean DynamoDB path, the streamed
 * SendEmail) share: their connections, their time limit and how an error answer is named.
 *
 * They go through undici (the Node.js project's HTTP client, the one behind `fetch`), by its
 * `dispatch` API: the answer's status, headers and bytes come to four callbacks, without the
 * request and response objects and streams of `node:http` (or of undici's own `request`). In a
 * loop against a local server, a DynamoDB-sized POST cost 155–160 µs of the client's CPU on one
 * connection against 226–245 µs through `node:http` with a keep-alive agent, and 61–62 µs
 * against 159–170 µs with ten in flight. The relay under the benchmark's load, side by side with
 * the code before (`npm run bench:ab`): 0.96× the CPU per copy at 1 × 1, 0.93× at 10 × 10.
 */

/**
 * undici's codes for a request that got no answer because of its connection: closed or reset by
 * the other side, not made in time, or the pool closed. Network failures like ECONNRESET: retried,
 * and a service failure for the caller (4xx to the mail client, never a loss).
 */
export const NETWORK_ERROR_CODES = ['UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED'];

/** Response headers: lower-case names. */
export type AwsHeaders = Record<string, string | string[] | undefined>;

/** Keep-alive connections to one AWS endpoint, shared by every request to it. */
export type AwsConnections = Dispatcher;

/**
 * Keep-alive connections to one endpoint: one TLS handshake per connection, not per request. At
 * most 50 at once, as the SDK's own handler: a burst queues here rather than piling onto the
 * service. One request at a time on each (no pipelining): a request that fails takes no other
 * with it.
 *
 * An idle connection is kept 50 s. AWS's endpoints send no Keep-Alive hint, and undici's default
 * of 4 s would make a relay that sends a message every few seconds pay a TLS handshake for each
 * request. DynamoDB closes idle connections after about a minute (AWS's Java SDK reaps its own
 * at 60 s), and a NAT gateway drops them silently after 350 s: closed here first, a request is
 * seldom written onto a connection the other side is closing (one that is fails as a network
 * error, and is retried).
 */
export const IDLE_CONNECTION_MS = 50_000;

export function connectionPool(endpoint: URL): AwsConnections {
  return new Pool(endpoint.origin, { connections: 50, pipelining: 1, keepAliveTimeout: IDLE_CONNECTION_MS });
}

/** An AWS JSON error's type (`x-amzn-errortype` or `__type`), without its namespace or detail. */
export function awsErrorType(headers: AwsHeaders, body: { __type?: unknown }, status: number): string {
  return String(headers['x-amzn-errortype'] ?? body.__type ?? `Http${status}`)
    .split(':')[0]!
    .split('#')
    .at(-1)!;
}

/** An AWS answer, whatever its status: the caller reads its JSON and names its error. */
export interface AwsAnswer {
  status: number;
  headers: AwsHeaders;
  text: string;
}

/**
 * One POST to `url` on `connections` (`connectionPool`), over within `timeoutMs` or failed with
 * `timeoutError()`, the wait for one of the pool's connections included (as the SDK's handler
 * counts it): a service that does not answer fails every request in bounded time, however many
 * are queued. Rejects only when no answer came (network error, timeout).
 */
export function postToAws(
  url: URL,
  options: {
    headers: Record<string, string>;
    connections: AwsConnections;
    timeoutMs: number;
    timeoutError: () => Error;
    /** The body whole, or its pieces in order (written as they come, with the socket's back-pressure). */
    body: string | Buffer | Iterable<string | Buffer> | AsyncIterable<string | Buffer>;
  },
): Promise<AwsAnswer> {
  return new Promise<AwsAnswer>((resolve, reject) => {
    let status = 0;
    let headers: AwsHeaders = {};
    const chunks: Buffer[] = [];
    let controller: Dispatcher.DispatchController | undefined;
    let timedOut: Error | undefined;
    // Started now, not when a connection takes the request: the wait in the pool's queue counts.
    const timer = setTimeout(() => {
      timedOut = options.timeoutError();
      reject(timedOut);
      controller?.abort(timedOut);
    }, options.timeoutMs);
    const { body } = options;
    options.connections.dispatch(
      {
        origin: url.origin,
        method: 'POST',
        path: url.pathname,
        headers: options.headers,
        body: typeof body === 'string' || Buffer.isBuffer(body) ? body : Readable.from(body),
        // The timer above bounds the whole request: undici's own per-phase timers are not needed.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      {
        onRequestStart(started) {
          controller = started;
          // Timed out while queued: the request never goes out.
          if (timedOut) started.abort(timedOut);
        },
        onResponseStart(_controller, statusCode, responseHeaders) {
          status = statusCode;
          headers = responseHeaders as AwsHeaders;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          clearTimeout(timer);
          const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
          resolve({ status, headers, text });
        },
        onResponseError(_controller, error) {
          clearTimeout(timer);
          reject(error);
        },
      },
    );
  });
}
