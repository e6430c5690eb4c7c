import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import dynalite from 'dynalite';
import { LOCAL_AWS_CREDENTIALS } from '../../shared/aws/local-endpoint.ts';
import { afterArrivals, readBody, reportServed, type Served } from './http-server.ts';
import { SigV4Verifier, type VerifyFailure } from './sigv4-verifier.ts';

/**
 * dynalite (a DynamoDB wire-protocol server) behind the SigV4 check DynamoDB makes: every request
 * must be signed for `dynamodb` in the configured region with the local credentials, or it gets
 * DynamoDB's own 400 error, as from AWS. dynalite itself accepts anything.
 */
export interface DynamoStandIn {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** DynamoDB's (awsJson1.0) error names for each way a signature can fail. */
const ERROR_TYPE: Record<VerifyFailure, string> = {
  MissingAuthenticationToken: 'MissingAuthenticationTokenException',
  IncompleteSignature: 'IncompleteSignatureException',
  UnrecognizedClient: 'UnrecognizedClientException',
  SignatureDoesNotMatch: 'InvalidSignatureException',
  RequestExpired: 'InvalidSignatureException',
};

/** dynalite refuses bodies over 16 MB; a batch of 25 × 400 KB items is 10 MB. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

export async function startDynamoStandIn(options: {
  region: string;
  path?: string;
  port?: number;
  host?: string;
  /**
   * For benchmarks: no answer sooner than this many milliseconds after the request arrived
   * (DynamoDB's network and service time). dynalite works meanwhile, so its own time is hidden
   * when shorter, as the service's own work is inside DynamoDB's latency.
   */
  latencyMs?: number;
  /** For benchmarks: each request's round trip as served, when its answer has been written. */
  onServed?: (served: Served) => void;
  /** Serve HTTPS with this key and certificate, as DynamoDB does (the benchmark's encrypted legs). */
  tls?: { key: string | Buffer; cert: string | Buffer };
}): Promise<DynamoStandIn> {
  const server: Server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
    ...(options.tls ? { ssl: true, key: options.tls.key, cert: options.tls.cert } : {}),
  });
  const verifier = new SigV4Verifier({
    credentials: [LOCAL_AWS_CREDENTIALS],
    region: options.region,
    service: 'dynamodb',
  });
  const [dynaliteHandler] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  // Requests being handled: close() lets them finish before dynalite closes its database (a
  // write still in flight would otherwise throw "Database is closed" out of dynalite).
  let inFlight = 0;
  let drained: (() => void) | undefined;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    res.once('close', () => {
      if (--inFlight === 0) drained?.();
    });
    const arrived = performance.now();
    if (options.onServed) {
      const target = String(req.headers['x-amz-target'] ?? '');
      reportServed(target.slice(target.indexOf('.') + 1), res, options.onServed);
    }
    readBody(req, MAX_REQUEST_BYTES)
      .then(async (body) => {
        if (options.latencyMs) {
          await afterArrivals();
          answerNoSoonerThan(res, arrived + options.latencyMs);
        }
        if (body === null) return dynamoError(res, 413, 'SerializationException', 'Request body too large');
        const verdict = verifier.verify({
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          rawHeaders: req.rawHeaders,
          body,
        });
        if (!verdict.ok) return dynamoError(res, 400, ERROR_TYPE[verdict.failure], verdict.message);
        // dynalite reads the body from the request stream: hand it a stream of the bytes already read.
        const replay = Object.assign(Readable.from(body.length > 0 ? [body] : []), {
          headers: req.headers,
          method: req.method,
          url: req.url,
        });
        dynaliteHandler!(replay as unknown as IncomingMessage, res);
      })
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    close: async () => {
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, 2000).unref();
        });
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function dynamoError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
  res.end(JSON.stringify({ __type: `com.amazon.coral.service#${type}`, message }));
}

/** Holds the answer dynalite gives until `due` (performance.now() time). */
function answerNoSoonerThan(res: ServerResponse, due: number): void {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    const wait = due - performance.now();
    if (wait > 0) setTimeout(() => end(...args), wait);
    else end(...args);
    return res;
  }) as typeof res.end;
}
