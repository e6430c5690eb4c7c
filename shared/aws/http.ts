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

/** An AWS answer, whatever its status: the caller reads its JSON and names its error. */
export interface AwsAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * One POST to `url` on `agent`, over within `timeoutMs` or destroyed with `timeoutError()`
 * (`limitRequestTime`). `send` writes the body and ends the request. Rejects only when no answer
 * came (network error, timeout).
 */
export function postToAws(
  url: URL,
  options: {
    headers: Record<string, string>;
    agent?: http.Agent;
    timeoutMs: number;
    timeoutError: () => Error;
    send(request: http.ClientRequest): void;
  },
): Promise<AwsAnswer> {
  return new Promise<AwsAnswer>((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(
      {
        method: 'POST',
        hostname: url.hostname,
        port: url.port || undefined,
        path: url.pathname,
        headers: options.headers,
        ...(options.agent ? { agent: options.agent } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text });
        });
      },
    );
    limitRequestTime(request, options.timeoutMs, options.timeoutError);
    request.on('error', reject);
    options.send(request);
  });
}
