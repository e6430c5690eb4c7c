import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { type AwsConnections, connectionPool } from '../shared/aws/http.ts';
import { endpointOptions } from '../shared/aws/local-endpoint.ts';
import { createSigner, type RequestSigner } from '../shared/aws/sigv4.ts';
import type { FairsendConfig } from '../shared/config.ts';
import { describeCause, SesPermanentError, SesTemporaryError } from '../shared/errors.ts';
import { RateLimiter } from './rate-limiter.ts';
import {
  ONE_WRITE_BYTES,
  partsLength,
  postSendEmail,
  SIGNED_REQUEST_TTL_MS,
  type SignedSendEmail,
  signSendEmail,
} from './ses-stream.ts';

export interface Copy {
  /** The SES destination: the envelope recipient of this copy. */
  recipient: string;
  /** Header From address (the identity SES checks). */
  from: string;
  /** The copy's bytes, in parts (shared with other copies; never modified). */
  parts: Buffer[];
  tags: Record<string, string>;
  /** Its request, built and signed ahead (`CopySender.prepare`), for the first attempt. */
  prepared?: PreparedCopy;
}

/** A copy's SendEmail request in the making; resolves to undefined if it could not be made. */
export interface PreparedCopy {
  readonly parts: Buffer[];
  readonly recipient: string;
  readonly request: Promise<SignedSendEmail | undefined>;
}

/** Sends one copy; resolves to SES's message id or throws SesPermanentError / SesTemporaryError. */
export interface CopySender {
  send(copy: Copy): Promise<string>;
  /**
   * Starts building and signing the copy's request now, for a `send` soon after (undefined when
   * this sender has nothing to do ahead for it). Nothing is sent.
   */
  prepare?(copy: Copy): PreparedCopy | undefined;
}

type SesConfig = FairsendConfig['ses'];

/** Error names SES uses for "try again later" (besides any 5xx and network failure). */
const TEMPORARY = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'LimitExceededException',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'TimeoutError',
]);

export function isTemporary(err: unknown): boolean {
  const e = err as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  if (e?.$retryable) return true;
  if (e?.name && TEMPORARY.has(e.name)) return true;
  const status = e?.$metadata?.httpStatusCode;
  if (status === undefined) return true; // no HTTP answer at all: network error, reset, timeout
  return status === 429 || status >= 500;
}

/** SES tag values allow letters, digits, `_ - . @` only. */
export function tagValue(value: string): string {
  return value.replace(/[^A-Za-z0-9_\-.@]/g, '_').slice(0, 256);
}

/** A copy's tags as SES's `EmailTags`, on either path. */
function sesTags(copy: Copy): { Name: string; Value: string }[] {
  return Object.entries(copy.tags).map(([Name, Value]) => ({ Name, Value: tagValue(Value) }));
}

export class SesV2Sender implements CopySender {
  private readonly client: SESv2Client;
  private readonly limiter: RateLimiter;
  private readonly signer: RequestSigner;
  private readonly connections: AwsConnections;
  private readonly endpoint: string;

  constructor(
    private readonly config: SesConfig,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.client = new SESv2Client({
      region: config.region,
      ...endpointOptions(config.endpoint),
      // Retries are ours (below), not the SDK's: bounded by one deadline for the whole copy (the
      // SDK's count attempts, not time), each attempt waiting for the send-rate token, and the
      // last error kept for the sender's reply.
      maxAttempts: 1,
      requestHandler: {
        requestTimeout: config.requestTimeoutMs,
        connectionTimeout: 5000,
        throwOnRequestTimeout: true,
      },
    });
    this.limiter = new RateLimiter(config.maxSendRate);
    // The streamed path: one signer (its signing key cached) and keep-alive connections for every
    // copy (the send rate is the limiter's to keep).
    this.endpoint = config.endpoint ?? `https://email.${config.region}.amazonaws.com`;
    this.signer = createSigner({
      credentials: () => this.client.config.credentials(),
      region: config.region,
      service: 'ses',
    });
    this.connections = connectionPool(new URL(this.endpoint));
  }

  async send(copy: Copy): Promise<string> {
    const deadline = Date.now() + this.config.retryDeadlineMs;
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      await this.limiter.take();
      try {
        const signed = attempt === 0 ? await this.preparedFor(copy) : undefined;
        if (signed) return await this.post(signed);
        return await this.sendOnce(copy);
      } catch (err) {
        lastError = err;
        if (err instanceof SesTemporaryError) {
          // fall through to retry
        } else if (!isTemporary(err)) {
          throw new SesPermanentError(sesReason(err), { cause: err });
        }
      }
      // Full jitter backoff (AWS architecture blog), 100 ms base, 5 s cap.
      const delay = Math.random() * Math.min(5000, 100 * 2 ** attempt);
      if (Date.now() + delay >= deadline) {
        throw new SesTemporaryError(`SES unavailable after ${attempt + 1} attempts: ${sesReason(lastError)}`, {
          cause: lastError,
        });
      }
      await this.sleep(delay);
    }
  }

  /**
   * Copies sent on the streamed path, up to ONE_WRITE_BYTES (their body is one Buffer): built and
   * signed now. Larger ones would be hashed twice (here and when sent), so they are not.
   */
  prepare(copy: Copy): PreparedCopy | undefined {
    const size = partsLength(copy.parts);
    if (size <= this.config.streamAboveBytes || size > ONE_WRITE_BYTES) return undefined;
    const request = this.sign(copy).catch(() => undefined);
    return { parts: copy.parts, recipient: copy.recipient, request };
  }

  /** The request prepared for this very copy, if it was made and is still fresh. */
  private async preparedFor(copy: Copy): Promise<SignedSendEmail | undefined> {
    const prepared = copy.prepared;
    if (!prepared || prepared.parts !== copy.parts || prepared.recipient !== copy.recipient) return undefined;
    const signed = await prepared.request;
    return signed && Date.now() - signed.signedAt < SIGNED_REQUEST_TTL_MS ? signed : undefined;
  }

  private sign(copy: Copy): Promise<SignedSendEmail> {
    return signSendEmail({
      endpoint: this.endpoint,
      signer: this.signer,
      parts: copy.parts,
      from: copy.from,
      recipient: copy.recipient,
      configurationSet: this.config.configurationSet,
      tags: sesTags(copy),
    });
  }

  private post(signed: SignedSendEmail): Promise<string> {
    return postSendEmail(signed, { connections: this.connections, timeoutMs: this.config.requestTimeoutMs });
  }

  private async sendOnce(copy: Copy): Promise<string> {
    const size = partsLength(copy.parts);
    if (size > this.config.streamAboveBytes) {
      return this.post(await this.sign(copy));
    }
    const out = await this.client.send(
      new SendEmailCommand({
        FromEmailAddress: copy.from,
        Destination: { ToAddresses: [copy.recipient] },
        Content: { Raw: { Data: copy.parts.length === 1 ? copy.parts[0] : Buffer.concat(copy.parts) } },
        ConfigurationSetName: this.config.configurationSet,
        EmailTags: sesTags(copy),
      }),
    );
    if (!out.MessageId) throw new SesTemporaryError('SES answered without a MessageId');
    return out.MessageId;
  }

  /** This process's share of the account's send rate (see proxy/fleet-rate.ts). */
  setRate(perSecond: number): void {
    this.limiter.setRate(perSecond);
  }

  destroy(): void {
    void this.connections.destroy();
    this.client.destroy();
  }
}

function sesReason(err: unknown): string {
  const e = err as { name?: string; message?: string };
  if (e?.name && e.message) return `${e.name}: ${e.message}`;
  return describeCause(err);
}
