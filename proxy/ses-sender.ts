import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { FairsendConfig } from '../shared/config.ts';
import { describeCause, SesPermanentError, SesTemporaryError } from '../shared/errors.ts';
import { RateLimiter } from './rate-limiter.ts';

export interface Copy {
  /** The SES destination: the envelope recipient of this copy. */
  recipient: string;
  /** Header From address (the identity SES checks). */
  from: string;
  raw: Uint8Array;
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

  constructor(
    private readonly config: SesConfig,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.client = new SESv2Client({
      region: config.region,
      ...(config.endpoint
        ? { endpoint: config.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {}),
      // Retries are ours (below): bounded by a deadline, with jitter, and visible in the reply.
      maxAttempts: 1,
      requestHandler: {
        requestTimeout: config.requestTimeoutMs,
        connectionTimeout: 5000,
        throwOnRequestTimeout: true,
      },
    });
    this.limiter = new RateLimiter(config.maxSendRate);
  }

  async send(copy: Copy): Promise<string> {
    const deadline = Date.now() + this.config.retryDeadlineMs;
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      await this.limiter.take();
      try {
        const out = await this.client.send(
          new SendEmailCommand({
            FromEmailAddress: copy.from,
            Destination: { ToAddresses: [copy.recipient] },
            Content: { Raw: { Data: copy.raw } },
            ConfigurationSetName: this.config.configurationSet,
            EmailTags: Object.entries(copy.tags).map(([Name, Value]) => ({ Name, Value: tagValue(Value) })),
          }),
        );
        if (!out.MessageId) throw new SesTemporaryError('SES answered without a MessageId');
        return out.MessageId;
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

  destroy(): void {
    this.client.destroy();
  }
}

function sesReason(err: unknown): string {
  const e = err as { name?: string; message?: string };
  if (e?.name && e.message) return `${e.name}: ${e.message}`;
  return describeCause(err);
}
