import http from 'node:http';
import https from 'node:https';

/**
 * What the requests Fairsend sends to AWS itself (the lean DynamoDB path, the streamed
 * SendEmail) share: their connections, their time limit and how an error answer is named.
 */

/**
 * Keep-alive connections to one endpoint: one TLS handshake per connection, not per request. At
 * most 50 at once, as the SDK's own handler: a burst queues here rather than piling onto the
 * service.
 */
export function keepAliveAgent(endpoint: URL): http.Agent {
  const options = { keepAlive: true, maxSockets: 50, maxFreeSockets: 50, scheduling: 'lifo' as const };
  return endpoint.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
}

/**
 * Destroys the request with `error()` unless it is over within `ms` from now, the wait for one of
 * the agent's connections included (as the SDK's handler counts it): a service that does not
 * answer fails every request in bounded time, however many are queued.
 */
export function limitRequestTime(request: http.ClientRequest, ms: number, error: () => Error): void {
  const timer = setTimeout(() => request.destroy(error()), ms);
  request.once('close', () => clearTimeout(timer));
}

/** An AWS JSON error's type (`x-amzn-errortype` or `__type`), without its namespace or detail. */
export function awsErrorType(headers: http.IncomingHttpHeaders, body: { __type?: unknown }, status: number): string {
  return String(headers['x-amzn-errortype'] ?? body.__type ?? `Http${status}`)
    .split(':')[0]!
    .split('#')
    .at(-1)!;
}
