import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { AwsCredentialIdentity } from '@smithy/types';
import { z } from 'zod';
import { LOCAL_AWS_CREDENTIALS } from '../../shared/aws/local-endpoint.ts';
import { afterArrivals, readBody, reportServed, type Served } from './http-server.ts';
import { guardLocalRequest } from './loopback-guard.ts';
import { outboxPage } from './outbox-page.ts';
import { SigV4Verifier, type VerifyFailure } from './sigv4-verifier.ts';

/**
 * A local stand-in for Amazon SES that speaks the SESv2 `SendEmail` HTTP API (restJson1, the
 * wire format @aws-sdk/client-sesv2 uses) and keeps the exact raw bytes it was given, the
 * destination and the tags: what aws-ses-v2-local drops. A person looks at the outbox at `/`;
 * tests read `/api/messages`. Faults (throttling, 500, hang, dropped connection, permanent
 * rejection) can be injected to prove what the relay does when SES misbehaves.
 */
export interface StoredMessage {
  id: string;
  receivedAt: string;
  from: string | undefined;
  destination: string[];
  configurationSet: string | undefined;
  tags: Record<string, string>;
  /** The client's user-agent: tells the SDK's requests from Fairsend's streamed ones. */
  userAgent?: string;
  /** When the request was signed (its x-amz-date, to the second), as an ISO date. */
  signedAt?: string;
  raw: Buffer;
}

export type FaultKind = 'throttle' | 'error' | 'hang' | 'drop' | 'reject';
export interface Fault {
  kind: FaultKind;
  /** How many requests it applies to; Infinity until cleared. */
  count: number;
  /** Only requests whose destination includes this address. */
  recipient?: string;
}

const sendEmailSchema = z.object({
  FromEmailAddress: z.string().optional(),
  Destination: z.object({
    ToAddresses: z.array(z.string()).default([]),
    CcAddresses: z.array(z.string()).default([]),
    BccAddresses: z.array(z.string()).default([]),
  }),
  Content: z.object({ Raw: z.object({ Data: z.string().min(1) }) }),
  ConfigurationSetName: z.string().optional(),
  EmailTags: z.array(z.object({ Name: z.string(), Value: z.string() })).default([]),
});

const MAX_REQUEST_BYTES = 60 * 1024 * 1024;

export class SesStandIn extends EventEmitter {
  readonly messages: StoredMessage[] = [];
  /** Every SendEmail request seen, including refused ones: for counting calls in tests. */
  requests = 0;
  private readonly faults: Fault[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Delay before answering, to model SES latency in benchmarks. */
  latencyMs = 0;
  /** For benchmarks: each SendEmail's round trip as served, when its answer has been written. */
  onServed: ((served: Served) => void) | undefined;
  /** The account's send rate, as SES enforces it (one second's burst): above it, 429 throttling. 0: none. */
  maxRate = 0;
  /** Requests refused for the send rate. */
  throttled = 0;
  private rateTokens = 0;
  private rateLast = 0;

  /** Copies accepted (also counted when not kept). */
  accepted = 0;
  private readonly keepMessages: boolean;
  private readonly verifier: SigV4Verifier;
  private readonly tls: { key: string | Buffer; cert: string | Buffer } | undefined;

  /**
   * @param outboxDir where to persist the outbox (npm start), or none
   * @param options.keepMessages false for benchmarks: count and discard, so the stand-in's memory stays flat
   * @param options.region the region requests must be signed for (SES checks the credential scope)
   * @param options.credentials the keys it accepts; the local credentials Fairsend's clients use by default
   */
  constructor(
    private readonly outboxDir?: string,
    options: {
      keepMessages?: boolean;
      region?: string;
      credentials?: AwsCredentialIdentity[];
      /** Serve HTTPS with this key and certificate, as SES does (the benchmark's encrypted legs). */
      tls?: { key: string | Buffer; cert: string | Buffer };
    } = {},
  ) {
    super();
    this.tls = options.tls;
    this.keepMessages = options.keepMessages ?? true;
    this.verifier = new SigV4Verifier({
      credentials: options.credentials ?? [LOCAL_AWS_CREDENTIALS],
      region: options.region ?? 'eu-west-3',
      service: 'ses',
    });
    if (outboxDir) {
      mkdirSync(outboxDir, { recursive: true });
      for (const file of readdirSync(outboxDir)
        .filter((f) => f.endsWith('.json'))
        .sort()) {
        try {
          const meta = JSON.parse(readFileSync(join(outboxDir, file), 'utf8')) as Omit<StoredMessage, 'raw'>;
          this.messages.push({ ...meta, raw: readFileSync(join(outboxDir, `${meta.id}.eml`)) });
        } catch {
          // A half-written entry from a crash: skip it, the rest of the outbox is still readable.
        }
      }
    }
  }

  /** A token bucket like SES's: `maxRate` a second, a burst of one second's worth. */
  private takeRateToken(): boolean {
    const now = performance.now();
    if (this.rateLast === 0) this.rateTokens = this.maxRate;
    else this.rateTokens = Math.min(this.maxRate, this.rateTokens + ((now - this.rateLast) / 1000) * this.maxRate);
    this.rateLast = now;
    if (this.rateTokens < 1) return false;
    this.rateTokens -= 1;
    return true;
  }

  injectFault(kind: FaultKind, count = 1, recipient?: string): void {
    this.faults.push({ kind, count, ...(recipient ? { recipient } : {}) });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  clear(): void {
    this.messages.length = 0;
    this.requests = 0;
    this.accepted = 0;
    this.throttled = 0;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      this.route(req, res).catch((err: Error) => {
        if (!res.headersSent) sendJson(res, 500, { message: err.message });
        else res.destroy();
      });
    };
    this.server = this.tls ? createHttpsServer(this.tls, handle) : createServer(handle);
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // AWS's SDK sends JSON (restJson1) and no Origin; the outbox and /api are for this machine only.
    if (!guardLocalRequest(req, res, { contentTypes: { '/': ['application/json'] } })) return;
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'POST' && url.pathname === '/v2/email/outbound-emails') return this.sendEmail(req, res);
    if (req.method === 'GET' && url.pathname === '/api/messages') {
      return sendJson(res, 200, { messages: this.messages.map(toJson) });
    }
    const raw = url.pathname.match(/^\/api\/messages\/([\w-]+)\.eml$/);
    if (req.method === 'GET' && raw) {
      const message = this.messages.find((m) => m.id === raw[1]);
      if (!message) return sendJson(res, 404, { message: 'no such message' });
      res.writeHead(200, { 'content-type': 'message/rfc822', 'content-length': message.raw.length });
      res.end(message.raw);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/api/clear') {
      this.clear();
      return sendJson(res, 200, { cleared: true });
    }
    if (req.method === 'POST' && url.pathname === '/api/faults') {
      const body = z
        .object({
          kind: z.enum(['throttle', 'error', 'hang', 'drop', 'reject']),
          count: z.number().int().positive().default(1),
        })
        .safeParse(parseJson((await readBody(req, 4096))?.toString('utf8') ?? ''));
      if (!body.success) return sendJson(res, 400, { message: body.error.message });
      this.injectFault(body.data.kind, body.data.count);
      return sendJson(res, 200, { faults: this.faults });
    }
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(await outboxPage(this.messages));
      return;
    }
    sendJson(res, 404, { message: `no route ${req.method} ${url.pathname}` });
  }

  private async sendEmail(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The latency counts from the request's arrival: the stand-in's own work is inside it, as SES's is.
    const due = performance.now() + this.latencyMs;
    if (this.onServed) reportServed('SendEmail', res, this.onServed);
    this.requests++;
    const body = await readBody(req, MAX_REQUEST_BYTES);
    if (this.latencyMs > 0) await afterArrivals();
    if (body === null) return sesError(res, 413, 'BadRequestException', `request body over ${MAX_REQUEST_BYTES} bytes`);
    if (req.headers['content-length'] && Number(req.headers['content-length']) !== body.length) {
      return sesError(res, 400, 'BadRequestException', 'content-length does not match the body received');
    }
    const verdict = this.verifier.verify({ method: 'POST', url: req.url ?? '/', rawHeaders: req.rawHeaders, body });
    if (!verdict.ok) return sesError(res, 403, SES_SIGNATURE_ERROR[verdict.failure], verdict.message);
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return sesError(res, 400, 'BadRequestException', 'request body is not JSON');
    }
    const parsed = sendEmailSchema.safeParse(json);
    if (!parsed.success) return sesError(res, 400, 'BadRequestException', parsed.error.message);
    const input = parsed.data;
    const destination = [
      ...input.Destination.ToAddresses,
      ...input.Destination.CcAddresses,
      ...input.Destination.BccAddresses,
    ];
    if (destination.length === 0 || destination.length > 50) {
      return sesError(res, 400, 'BadRequestException', 'Destination must list 1 to 50 recipients');
    }
    if (this.maxRate > 0 && !this.takeRateToken()) {
      this.throttled++;
      return sesError(res, 429, 'TooManyRequestsException', 'Maximum sending rate exceeded.');
    }
    const index = this.faults.findIndex((f) => !f.recipient || destination.includes(f.recipient));
    const fault = this.faults[index];
    if (fault) {
      fault.count--;
      if (fault.count <= 0) this.faults.splice(index, 1);
      switch (fault.kind) {
        case 'throttle':
          return sesError(res, 429, 'TooManyRequestsException', 'Maximum sending rate exceeded.');
        case 'error':
          return sesError(
            res,
            500,
            'InternalFailure',
            'The request processing has failed because of an unknown error.',
          );
        case 'reject':
          return sesError(
            res,
            400,
            'MessageRejected',
            'Email address is not verified. The following identities failed the check.',
          );
        case 'drop':
          req.socket.destroy();
          return;
        case 'hang':
          return; // never answer: the client's request timeout has to deal with it
      }
    }
    const message: StoredMessage = {
      id: `${Date.now().toString(36)}-${randomUUID()}`,
      receivedAt: new Date().toISOString(),
      from: input.FromEmailAddress,
      destination,
      configurationSet: input.ConfigurationSetName,
      tags: Object.fromEntries(input.EmailTags.map((t) => [t.Name, t.Value])),
      userAgent: req.headers['user-agent'],
      signedAt: signingDate(req.headers['x-amz-date']),
      raw: Buffer.from(input.Content.Raw.Data, 'base64'),
    };
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    this.accepted++;
    if (!this.keepMessages) return sendJson(res, 200, { MessageId: message.id });
    this.messages.push(message);
    if (this.outboxDir) {
      writeFileSync(join(this.outboxDir, `${message.id}.eml`), message.raw);
      const { raw: _raw, ...meta } = message;
      writeFileSync(join(this.outboxDir, `${message.id}.json`), JSON.stringify(meta));
    }
    this.emit('message', message);
    sendJson(res, 200, { MessageId: message.id });
  }
}

/** The error names SES answers with when a request's signature does not hold (HTTP 403). */
const SES_SIGNATURE_ERROR: Record<VerifyFailure, string> = {
  MissingAuthenticationToken: 'MissingAuthenticationTokenException',
  IncompleteSignature: 'IncompleteSignatureException',
  UnrecognizedClient: 'UnrecognizedClientException',
  SignatureDoesNotMatch: 'SignatureDoesNotMatch',
  RequestExpired: 'SignatureDoesNotMatch',
};

function toJson(m: StoredMessage) {
  const { raw, ...meta } = m;
  return { ...meta, raw: raw.toString('base64'), size: raw.length };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The restJson1 error shape the AWS SDK turns into a named exception. */
function sesError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
  res.end(JSON.stringify({ message }));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text || '{}');
  } catch {
    return undefined;
  }
}

/** An x-amz-date (`20261129T010203Z`, verified with the signature) as an ISO date. */
function signingDate(header: string | string[] | undefined): string | undefined {
  const match = typeof header === 'string' ? /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(header) : null;
  return match ? `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}.000Z` : undefined;
}
