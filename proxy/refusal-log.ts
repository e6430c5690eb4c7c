import type { Logger } from '../shared/log.ts';
import type { BlockedSendLog } from '../shared/stores/blocked-sends.ts';
import type { Refusal } from '../shared/verdict.ts';
import { replyFor } from './smtp-replies.ts';

/**
 * Every refusal an admin may need to review goes into the blocked-send log: a sender outside
 * `allowedFrom` (at MAIL FROM, before any recipient: recorded with none), a malformed message, an
 * undeclared purpose, a bad directive (at DATA: one record per recipient). Temporary refusals
 * (a store down, SES throttling) are not policy and are not recorded. A record that cannot be
 * written never changes the reply.
 */
export interface RefusalContext {
  controller: string;
  user: string;
  mailFrom: string;
  recipients: string[];
  subject?: string;
  messageId?: string;
  purpose?: string;
}

export async function recordRefusal(
  blockedSends: BlockedSendLog,
  log: Logger,
  context: RefusalContext,
  refusal: Refusal,
): Promise<void> {
  if (refusal.kind !== 'reject') return;
  const reply = replyFor(refusal).toString();
  const recipients = context.recipients.length > 0 ? context.recipients : [''];
  await Promise.all(
    recipients.map((recipient) =>
      blockedSends
        .record({
          controller: context.controller,
          user: context.user,
          mailFrom: context.mailFrom,
          recipient,
          rule: refusal.rule,
          reason: refusal.reason,
          reply,
          ...(context.purpose ? { purpose: context.purpose } : {}),
          ...(context.subject !== undefined ? { subject: context.subject } : {}),
          ...(context.messageId !== undefined ? { messageId: context.messageId } : {}),
        })
        .catch((err: unknown) => log.error('blocked-send.unrecorded', { rule: refusal.rule, err })),
    ),
  );
}
