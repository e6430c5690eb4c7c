import type { Logger } from '../shared/log.ts';
import type { BlockedSendLog } from '../shared/stores/blocked-sends.ts';
import type { Refusal, Rule } from '../shared/verdict.ts';
import { replyFor } from './smtp-replies.ts';

/**
 * Every refusal an admin may need to review goes into the blocked-send log: a sender outside
 * `allowedFrom` (at MAIL FROM, before any recipient: recorded with none), a malformed message, an
 * undeclared purpose, a bad directive, a policy block or flag (at DATA: one record per recipient).
 * Temporary refusals (a store down, SES throttling) are not policy and are not recorded. A record
 * that cannot be written never changes the reply.
 */
export interface RefusalContext {
  controller: string;
  user: string;
  mailFrom: string;
  subject?: string;
  messageId?: string;
  purpose?: string;
}

export interface ReviewEntry {
  recipient: string;
  outcome: 'blocked' | 'flagged';
  rule: Rule;
  reason: string;
  /** The reply the client got (blocked entries). */
  reply?: string;
}

/** One record per entry, with what the context knows of the message. */
export async function recordReviews(
  blockedSends: BlockedSendLog,
  log: Logger,
  context: RefusalContext,
  entries: ReviewEntry[],
): Promise<void> {
  await Promise.all(
    entries.map((entry) =>
      blockedSends
        .record({
          controller: context.controller,
          user: context.user,
          mailFrom: context.mailFrom,
          recipient: entry.recipient,
          outcome: entry.outcome,
          rule: entry.rule,
          reason: entry.reason,
          ...(entry.outcome === 'blocked' && entry.reply ? { reply: entry.reply } : {}),
          ...(context.purpose ? { purpose: context.purpose } : {}),
          ...(context.subject !== undefined ? { subject: context.subject } : {}),
          ...(context.messageId !== undefined ? { messageId: context.messageId } : {}),
        })
        .then(() =>
          log.info('blocked-send', { controller: context.controller, rule: entry.rule, outcome: entry.outcome }),
        )
        .catch((err: unknown) =>
          log.error('blocked-send.unrecorded', { recipient: entry.recipient, rule: entry.rule, err }),
        ),
    ),
  );
}

/** A refusal of the whole message: one blocked record per recipient (or one with none, before RCPT). */
export async function recordRefusal(
  blockedSends: BlockedSendLog,
  log: Logger,
  context: RefusalContext & { recipients: string[] },
  refusal: Refusal,
): Promise<void> {
  if (refusal.kind !== 'reject') return;
  const reply = replyFor(refusal).toString();
  const recipients = context.recipients.length > 0 ? context.recipients : [''];
  await recordReviews(
    blockedSends,
    log,
    context,
    recipients.map((recipient) => ({
      recipient,
      outcome: 'blocked',
      rule: refusal.rule,
      reason: refusal.reason,
      reply,
    })),
  );
}
