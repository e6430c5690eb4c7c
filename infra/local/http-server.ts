import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type GuardOptions, guardLocalRequest } from './loopback-guard.ts';

/**
 * The local stack's HTTP server: where the Lambda handlers are mounted (through the same
 * API Gateway event adapter AWS uses), plus a health check.
 */
export type Route = (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void> | void;

export class LocalHttpServer {
  private readonly routes: { method: string; pattern: RegExp; handler: Route }[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  /** @param guard who may ask what (see loopback-guard.ts) */
  constructor(private readonly guard: GuardOptions) {
    this.server = createServer((req, res) => this.dispatch(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.route('GET', /^\/healthz$/, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  }

  route(method: string, pattern: RegExp, handler: Route): void {
    this.routes.push({ method, pattern, handler });
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    if (!guardLocalRequest(req, res, this.guard)) return;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const matching = this.routes.filter((r) => r.pattern.test(path));
    const route = matching.find((r) => r.method === req.method || (r.method === 'GET' && req.method === 'HEAD'));
    if (!route) {
      res.writeHead(matching.length > 0 ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(matching.length > 0 ? 'Method not allowed\n' : 'Not found\n');
      return;
    }
    const params = path.match(route.pattern)!.slice(1);
    Promise.resolve(route.handler(req, res, params)).catch((err: Error) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Internal error\n');
      } else {
        res.destroy();
      }
      process.stderr.write(`http route failed: ${err.message}\n`);
    });
  }
}

/** A request body up to `limit` bytes; null when it is larger (the caller answers 413). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Resolves in the event loop's check phase, once the requests that came in with this one have
 * been read and stamped: a stand-in with an injected latency works on a request after this, so
 * ten requests written at once arrive at once, as they do at AWS, whose servers take them in
 * parallel. Worked on as each came in, the tenth was stamped only after the other nine's
 * signature checks and parsing (~0.5 ms each for a SendEmail of 20 KB), and answered that much
 * later: the stand-in's own queue, counted as the sender's time.
 */
export function afterArrivals(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * One request as a stand-in served it (for the benchmark): its operation, when it arrived and
 * when its answer was written, in milliseconds since the epoch to the microsecond, comparable
 * across processes.
 */
export interface Served {
  operation: string;
  arrivedAt: number;
  answeredAt: number;
}

/** Calls `onServed` once the answer to the request that arrived just now has been written. */
export function reportServed(operation: string, res: ServerResponse, onServed: (served: Served) => void): void {
  const arrivedAt = performance.timeOrigin + performance.now();
  res.once('finish', () => onServed({ operation, arrivedAt, answeredAt: performance.timeOrigin + performance.now() }));
}
