import { SesPermanentError, SesTemporaryError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { SendLog, SentCopy } from '../shared/stores/send-log.ts';
import { ACCEPT, type DeliveryRule, defer, reject, type Verdict } from '../shared/verdict.ts';
import { mapBounded } from './map-bounded.ts';
import type { Copy, CopySender, PreparedCopy } from './ses-sender.ts';

/** One recipient's part of a plan: their copy, or the SES id of the copy an earlier attempt sent. */
export interface PlannedCopy {
  recipient: string;
  /** Set when an earlier attempt of the same message already sent this copy (a retry after 451). */
  alreadySent?: string;
  /**
   * Builds the copy (with its own unsubscribe token); `copyId` links the token to the send log.
   * `prepared`: its SES request, made ahead with `Delivery.prepare`.
   */
  render(): { parts: Buffer[]; copyId: string; prepared?: PreparedCopy };
}

/** What every copy of a plan is sent as: whose, for what, from which address. */
export type CopyContext = Pick<DeliveryPlan, 'controller' | 'purpose' | 'user' | 'from'>;

/** How long the first copy of a group waits for others before the group's send-log write. */
const RECORD_GATHER_MS = 20;

/** Everything delivery needs, decided beforehand by the pipeline: who gets which copy. */
export interface DeliveryPlan {
  controller: string;
  purpose: string;
  user: string;
  /** Header From address: the SES identity. */
  from: string;
  messageId: string | undefined;
  /** The decoded subject, for the console's sent-mail list. */
  subject?: string;
  /** The submitted message's identity (envelope + bytes): a retry of it is recognised by this. */
  idempotencyKey: string;
  /** The submitted message's size, to bound the bytes in flight. */
  size: number;
  copies: PlannedCopy[];
}

export type CopyOutcome =
  | { recipient: string; status: 'sent' | 'already-sent'; sesMessageId: string }
  | { recipient: string; status: 'permanent' | 'temporary'; reason: string };

/**
 * Sends a plan's copies, records each one SES took in the send log, and reports the outcomes.
 * It decides nothing about who gets what (the pipeline did) and builds no reply (the relay does,
 * from `deliveryVerdict`).
 */
export class Delivery {
  /** Copies sent whose send-log write failed: still skipped on retry while this process lives. */
  private readonly unloggedSends = new Map<string, string>();
  /** Keys of copies being sent right now: a concurrent duplicate waits for a retry instead. */
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly sender: CopySender,
    private readonly sendLog: SendLog,
    private readonly options: { concurrency: number; maxBytesInFlight: number },
    private readonly log: Logger,
  ) {}

  /** How many copies of a message of `size` bytes go to SES at once: fewer of a large one, so memory stays bounded by maxBytesInFlight. */
  concurrencyFor(size: number): number {
    return Math.max(
      1,
      Math.min(this.options.concurrency, Math.floor(this.options.maxBytesInFlight / Math.max(1, size))),
    );
  }

  /**
   * Starts building and signing the SES request of a copy that is about to be sent (by `send`,
   * through `PlannedCopy.render`'s `prepared`), while the caller waits on something else.
   */
  prepare(context: CopyContext, recipient: string, parts: Buffer[]): PreparedCopy | undefined {
    return this.sender.prepare?.(copyOf(context, recipient, parts));
  }

  async send(plan: DeliveryPlan): Promise<CopyOutcome[]> {
    const concurrency = this.concurrencyFor(plan.size);
    // The copies SES took are recorded in groups: one BatchWriteItem for up to 8 copies (24 items),
    // written when 8 are waiting, RECORD_GATHER_MS after the first of a group, or when the last
    // copy is done (a 1-recipient message: at once). The window in which a crash can make a retry
    // send a copy again stays a few milliseconds long, and a copy SES is slow to take (or never
    // takes) does not hold the others' records back.
    const waiting: SentCopy[] = [];
    const writes: Promise<void>[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      if (waiting.length > 0) writes.push(this.record(plan, waiting.splice(0)));
    };
    const took = (copy: SentCopy) => {
      waiting.push(copy);
      if (waiting.length >= 8) flush();
      else timer ??= setTimeout(flush, RECORD_GATHER_MS);
    };
    try {
      return await mapBounded(plan.copies, concurrency, (copy) => this.sendOne(plan, copy, took));
    } finally {
      // Also when a copy failed unexpectedly: what SES took is recorded all the same.
      flush();
      await Promise.all(writes);
    }
  }

  private async sendOne(
    plan: DeliveryPlan,
    planned: PlannedCopy,
    took: (copy: SentCopy) => void,
  ): Promise<CopyOutcome> {
    const { recipient } = planned;
    const flightKey = `${plan.idempotencyKey}#${recipient}`;
    const previous = planned.alreadySent ?? this.unloggedSends.get(flightKey);
    if (previous) return { recipient, status: 'already-sent', sesMessageId: previous };
    if (this.inFlight.has(flightKey)) {
      return { recipient, status: 'temporary', reason: 'the same message is being sent on another connection' };
    }
    this.inFlight.add(flightKey);
    try {
      const copy = planned.render();
      const sesMessageId = await this.sender.send({
        ...copyOf(plan, recipient, copy.parts),
        ...(copy.prepared ? { prepared: copy.prepared } : {}),
      });
      // Until it is recorded, a concurrent duplicate must not send it again.
      this.unloggedSends.set(flightKey, sesMessageId);
      took(this.sentCopy(plan, recipient, sesMessageId, copy.copyId));
      return { recipient, status: 'sent', sesMessageId };
    } catch (err) {
      if (err instanceof SesPermanentError) return { recipient, status: 'permanent', reason: err.message };
      if (err instanceof SesTemporaryError) return { recipient, status: 'temporary', reason: err.message };
      throw err;
    } finally {
      this.inFlight.delete(flightKey);
    }
  }

  /** A notice of Fairsend's own to the sender (not prospecting: no footer); resolves to SES's id. */
  sendNotice(notice: { from: string; to: string; raw: Buffer; controller: string; user: string }): Promise<string> {
    const context = { controller: notice.controller, purpose: 'refusal-notice', user: notice.user, from: notice.from };
    return this.sender.send(copyOf(context, notice.to, [notice.raw]));
  }

  private sentCopy(plan: DeliveryPlan, recipient: string, sesMessageId: string, copyId: string): SentCopy {
    return {
      copyId,
      controller: plan.controller,
      purpose: plan.purpose,
      user: plan.user,
      recipient,
      at: new Date().toISOString(),
      sesMessageId,
      messageId: plan.messageId,
      ...(plan.subject !== undefined ? { subject: plan.subject.slice(0, 300) } : {}),
      idempotencyKey: plan.idempotencyKey,
    };
  }

  /**
   * SES took these copies: they must be remembered, or a retry would send them twice. Written
   * together; if the send log cannot take them, this process still skips them on a retry.
   */
  private async record(plan: DeliveryPlan, copies: SentCopy[]): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.sendLog.recordMany(copies);
        for (const copy of copies) this.unloggedSends.delete(`${plan.idempotencyKey}#${copy.recipient}`);
        return;
      } catch (err) {
        this.log.warn('send-log.write-failed', { copies: copies.length, attempt, err });
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
    for (const copy of copies) {
      this.log.error('send-log.unrecorded-copy', {
        controller: plan.controller,
        recipient: copy.recipient,
        sesMessageId: copy.sesMessageId,
      });
    }
  }
}

function copyOf(context: CopyContext, recipient: string, parts: Buffer[]): Copy {
  return {
    recipient,
    from: context.from,
    parts,
    tags: { controller: context.controller, purpose: context.purpose, user: context.user },
  };
}

/**
 * What the client is told: accept only when SES took every copy (now or on an earlier attempt);
 * defer if anything may work on retry (those already sent are skipped then); reject if SES
 * refused for good.
 */
export function deliveryVerdict(outcomes: CopyOutcome[]): { verdict: Verdict<DeliveryRule>; summary: string } {
  const done = outcomes.filter((o) => o.status === 'sent' || o.status === 'already-sent').length;
  const summary = `${done} of ${outcomes.length} copies sent`;
  const first = (status: 'temporary' | 'permanent') => {
    const o = outcomes.find((x) => x.status === status) as { recipient: string; reason: string } | undefined;
    return o ? `<${o.recipient}>: ${o.reason}` : undefined;
  };
  const temporary = first('temporary');
  if (temporary) {
    return {
      verdict: defer('ses:temporary', `SES could not take every copy now (${summary}); try again later. ${temporary}`),
      summary,
    };
  }
  const permanent = first('permanent');
  if (permanent) {
    return { verdict: reject('ses:permanent', `SES refused the message (${summary}). ${permanent}`), summary };
  }
  return { verdict: ACCEPT, summary };
}
