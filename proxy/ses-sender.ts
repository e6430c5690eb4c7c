import type http from 'node:http';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { keepAliveAgent } from '../shared/aws/http.ts';
import { endpointOptions } from '../shared/aws/local-endpoint.ts';
import { createSigner, type RequestSigner } from '../shared/aws/sigv4.ts';
import type { FairsendConfig } from '../shared/config.ts';
import { describeCause, SesPermanentError, SesTemporaryError } from '../shared/errors.ts';
import { RateLimiter } from './rate-limiter.ts';
import { sendRawStreaming } from './ses-stream.ts';

export interface Copy {
  /** The SES destination: the envelope recipient of this copy. */
  recipient: string;
  /** Header From address (the identity SES checks). */
  from: string;
  /** The copy's bytes, in parts (shared with other copies; never modified). */
  parts: Buffer[];
  tags: Record<string, string>;
}

/** Sends one copy; resolves to SES's message id or throws SesPermanentError / SesTemporaryError. */
export interface CopySender {
  send(copy: Copy): Promise<string>;
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

export class SesV2Sender implements CopySender {
  private readonly client: SESv2Client;
  private readonly limiter: RateLimiter;
  private readonly signer: RequestSigner;
  private readonly agent: http.Agent;
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
    this.agent = keepAliveAgent(new URL(this.endpoint));
  }

  async send(copy: Copy): Promise<string> {
    const deadline = Date.now() + this.config.retryDeadlineMs;
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      await this.limiter.take();
      try {
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

  private async sendOnce(copy: Copy): Promise<string> {
    const tags = Object.entries(copy.tags).map(([Name, Value]) => ({ Name, Value: tagValue(Value) }));
    const size = copy.parts.reduce((n, p) => n + p.length, 0);
    if (size > this.config.streamAboveBytes) {
      return sendRawStreaming({
        endpoint: this.endpoint,
        signer: this.signer,
        agent: this.agent,
        parts: copy.parts,
        from: copy.from,
        recipient: copy.recipient,
        configurationSet: this.config.configurationSet,
        tags,
        timeoutMs: this.config.requestTimeoutMs,
      });
    }
    const out = await this.client.send(
      new SendEmailCommand({
        FromEmailAddress: copy.from,
        Destination: { ToAddresses: [copy.recipient] },
        Content: { Raw: { Data: copy.parts.length === 1 ? copy.parts[0] : Buffer.concat(copy.parts) } },
        ConfigurationSetName: this.config.configurationSet,
        EmailTags: tags,
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
    this.agent.destroy();
    this.client.destroy();
  }
}

function sesReason(err: unknown): string {
  const e = err as { name?: string; message?: string };
  if (e?.name && e.message) return `${e.name}: ${e.message}`;
  return describeCause(err);
}
