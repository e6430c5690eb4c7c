import { createHash } from 'node:crypto';
import { SesPermanentError, SesTemporaryError, SmtpReply, StoreUnavailableError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { SendLog } from '../shared/stores/send-log.ts';
import { mapBounded } from './rate-limiter.ts';
import type { CopySender } from './ses-sender.ts';

export interface DeliveryRequest {
  controller: string;
  purpose: string | undefined;
  user: string;
  mailFrom: string;
  /** Header From address: the SES identity. */
  from: string;
  recipients: string[];
  /** `Delivery.idempotencyKey` of the submitted message, computed once by the caller. */
  idempotencyKey: string;
  /** The submitted message's size, to bound the bytes in flight. */
  size: number;
  messageId: string | undefined;
  /** Builds the copy for one recipient (with its own unsubscribe token); `copyId` links the token to the send log. */
  copyFor(recipient: string): { parts: Buffer[]; copyId: string };
  /** Runs alongside the send-log write once SES took a recipient's copy. */
  onSent?(recipient: string): Promise<void>;
  /** What `lookupSent` found, when the caller fetched it alongside its own reads. */
  alreadySent?: Map<string, string>;
}

export type CopyOutcome =
  | { recipient: string; status: 'sent' | 'already-sent'; sesMessageId: string }
  | { recipient: string; status: 'permanent' | 'temporary'; reason: string };

/**
 * Sends one copy per recipient and turns the outcomes into the DATA reply. 250 only when SES took
 * every copy (now or on an earlier attempt of the same message); otherwise 451 if anything may
 * work on retry, 554 if SES refused for good. A retried message skips the recipients already
 * sent, by idempotency key (envelope + message bytes) in the send log.
 */
export class Delivery {
  /** Copies sent whose send-log write failed: still skipped on retry while this process lives. */
  private readonly unloggedSends = new Map<string, string>();
  /** Keys of copies being sent right now: a concurrent duplicate waits for a retry instead. */
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly sender: CopySender,
    private readonly sendLog: SendLog,
    private readonly options: {
      concurrency: number;
      idempotencyWindowHours: number;
      maxBytesInFlight: number;
    },
    private readonly log: Logger,
  ) {}

  static idempotencyKey(user: string, mailFrom: string, raw: Buffer): string {
    return createHash('sha256').update(user).update('\0').update(mailFrom).update('\0').update(raw).digest('base64url');
  }

  async deliver(
    request: DeliveryRequest,
  ): Promise<{ reply: SmtpReply | null; outcomes: CopyOutcome[]; summary: string }> {
    const key = request.idempotencyKey;
    let already: Map<string, string>;
    try {
      already = request.alreadySent ?? (await this.lookupSent(key, request.recipients));
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.log.error('send-log.unavailable', { err });
      const reply = new SmtpReply(451, '4.3.0', 'send log unavailable, nothing was sent; try again later');
      return { reply, outcomes: [], summary: 'send log unavailable' };
    }

    // Large messages are sent fewer at a time, so memory stays bounded by maxBytesInFlight.
    const concurrency = Math.max(
      1,
      Math.min(this.options.concurrency, Math.floor(this.options.maxBytesInFlight / Math.max(1, request.size))),
    );
    const outcomes = await mapBounded(request.recipients, concurrency, (recipient) =>
      this.sendOne(request, key, recipient, already.get(recipient) ?? this.unloggedSends.get(`${key}#${recipient}`)),
    );
    return { ...summarise(outcomes), outcomes };
  }

  /** The recipients of this message SES already took (a retry after 451), by idempotency key. */
  lookupSent(key: string, recipients: string[]): Promise<Map<string, string>> {
    const notBefore = new Date(Date.now() - this.options.idempotencyWindowHours * 3600_000);
    return this.sendLog.alreadySent(key, recipients, notBefore);
  }

  private async sendOne(
    request: DeliveryRequest,
    key: string,
    recipient: string,
    previous: string | undefined,
  ): Promise<CopyOutcome> {
    if (previous) return { recipient, status: 'already-sent', sesMessageId: previous };
    const flightKey = `${key}#${recipient}`;
    if (this.inFlight.has(flightKey)) {
      return {
        recipient,
        status: 'temporary',
        reason: 'the same message is being sent on another connection',
      };
    }
    this.inFlight.add(flightKey);
    try {
      const copy = request.copyFor(recipient);
      const sesMessageId = await this.sender.send({
        recipient,
        from: request.from,
        parts: copy.parts,
        tags: { controller: request.controller, purpose: request.purpose ?? 'none', user: request.user },
      });
      await Promise.all([
        this.record(request, key, recipient, sesMessageId, copy.copyId),
        request
          .onSent?.(recipient)
          .catch((err: unknown) => this.log.warn('delivery.on-sent-failed', { recipient, err })),
      ]);
      return { recipient, status: 'sent', sesMessageId };
    } catch (err) {
      if (err instanceof SesPermanentError) return { recipient, status: 'permanent', reason: err.message };
      if (err instanceof SesTemporaryError) return { recipient, status: 'temporary', reason: err.message };
      throw err;
    } finally {
      this.inFlight.delete(flightKey);
    }
  }

  /** SES took the copy: it must be remembered, or a retry would send it twice. */
  private async record(
    request: DeliveryRequest,
    key: string,
    recipient: string,
    sesMessageId: string,
    copyId: string,
  ): Promise<void> {
    const copy = {
      copyId,
      controller: request.controller,
      purpose: request.purpose,
      user: request.user,
      recipient,
      at: new Date().toISOString(),
      sesMessageId,
      messageId: request.messageId,
      idempotencyKey: key,
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.sendLog.record(copy);
        return;
      } catch (err) {
        this.log.warn('send-log.write-failed', { recipient, sesMessageId, attempt, err });
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
    this.unloggedSends.set(`${key}#${recipient}`, sesMessageId);
    this.log.error('send-log.unrecorded-copy', { controller: request.controller, recipient, sesMessageId });
  }
}

function summarise(outcomes: CopyOutcome[]): { reply: SmtpReply | null; summary: string } {
  const done = outcomes.filter((o) => o.status === 'sent' || o.status === 'already-sent').length;
  const temporary = outcomes.filter((o) => o.status === 'temporary');
  const permanent = outcomes.filter((o) => o.status === 'permanent');
  const progress = `${done} of ${outcomes.length} copies sent`;
  const first = (list: CopyOutcome[]) => {
    const o = list[0] as { recipient: string; reason: string };
    return `<${o.recipient}>: ${o.reason}`;
  };
  if (temporary.length > 0) {
    // A retry can still deliver these; those already sent will be skipped.
    return {
      reply: new SmtpReply(
        451,
        '4.4.1',
        `SES could not take every copy now (${progress}); try again later. ${first(temporary)}`,
      ),
      summary: progress,
    };
  }
  if (permanent.length > 0) {
    return {
      reply: new SmtpReply(554, '5.7.1', `SES refused the message (${progress}). ${first(permanent)}`),
      summary: progress,
    };
  }
  return { reply: null, summary: progress };
}
