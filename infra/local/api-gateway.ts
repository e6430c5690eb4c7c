import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type Route, readBody } from './http-server.ts';

export type HttpApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Serves a Lambda handler the way API Gateway's HTTP API does (payload format 2.0): the local
 * stack runs the very handler code AWS runs, with no second implementation.
 */
export function httpApiRoute(
  routeKey: string,
  paramNames: string[],
  handler: HttpApiHandler,
  maxBodyBytes = MAX_BODY_BYTES,
): Route {
  return async (req, res, params) => {
    const body = await readBody(req, maxBodyBytes);
    if (body === null) {
      res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Request body too large\n');
      return;
    }
    const event = toEvent(
      req,
      routeKey,
      Object.fromEntries(paramNames.map((name, i) => [name, params[i] ?? ''])),
      body,
    );
    const result = await handler(event);
    send(req, res, result);
  };
}

export function toEvent(
  req: IncomingMessage,
  routeKey: string,
  pathParameters: Record<string, string>,
  body: Buffer,
): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && name !== 'cookie') headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    cookies: req.headers.cookie ? req.headers.cookie.split(/;\s*/) : undefined,
    headers,
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    pathParameters,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: req.headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: body.length > 0 ? body.toString('base64') : undefined,
    isBase64Encoded: body.length > 0,
  };
}

/** Lambda answers at most 6 MB (synchronous invocation): a larger response never reaches the client. */
export const MAX_LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024;

function send(req: IncomingMessage, res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  if (Buffer.byteLength(result.body ?? '') > MAX_LAMBDA_RESPONSE_BYTES) {
    // What API Gateway answers when the function's response is over the limit: the stand-in
    // refuses what AWS would refuse.
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end('{"message":"Internal Server Error (the function\'s response is over Lambda\'s 6 MB limit)"}');
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  const body = result.body ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
  headers['content-length'] = String(body.length);
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}
