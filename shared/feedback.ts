import { z } from 'zod';
import { normaliseAddress } from './address.ts';
import type { FairsendConfig } from './config.ts';
import { erasedEntries } from './erased.ts';
import type { Logger } from './log.ts';
import type { OppositionList } from './stores/opposition-list.ts';
import type { SendLog } from './stores/send-log.ts';

/**
 * SES feedback (bounces, complaints, deliveries) as SES publishes it to SNS, in either format:
 * identity notifications (`notificationType`) or configuration-set event publishing
 * (`eventType`). Only the recipients each event lists are affected, and each event is mapped to
 * the company that sent the copy (the `controller` tag the relay sets, else the send log), so one
 * company's bounces never block another's recipients.
 */
/** SES timestamps are ISO 8601 (`2026-03-14T09:30:12.345Z`); anything else is a malformed event, refused at the edge. */
const timestamp = z.iso.datetime({ offset: true });
const recipientList = z.array(z.object({ emailAddress: z.string() }).loose()).min(1);

export const sesFeedbackSchema = z
  .object({
    notificationType: z.string().optional(),
    eventType: z.string().optional(),
    mail: z
      .object({
        messageId: z.string().min(1),
        timestamp: timestamp.optional(),
        destination: z.array(z.string()).optional(),
        tags: z.record(z.string(), z.array(z.string())).optional(),
      })
      .loose(),
    bounce: z
      .object({
        bounceType: z.enum(['Permanent', 'Transient', 'Undetermined']),
        bounceSubType: z.string().optional(),
        bouncedRecipients: z
          .array(
            z
              .object({
                emailAddress: z.string(),
                diagnosticCode: z.string().optional(),
                status: z.string().optional(),
              })
              .loose(),
          )
          .min(1),
        timestamp,
        feedbackId: z.string().min(1),
      })
      .loose()
      .optional(),
    complaint: z
      .object({
        complainedRecipients: recipientList,
        timestamp,
        feedbackId: z.string().min(1),
        complaintFeedbackType: z.string().optional(),
      })
      .loose()
      .optional(),
    delivery: z
      .object({ timestamp, recipients: z.array(z.string()).min(1), smtpResponse: z.string().optional() })
      .loose()
      .optional(),
  })
  .loose()
  .refine((m) => m.notificationType ?? m.eventType, 'neither notificationType nor eventType');
export type SesFeedback = z.infer<typeof sesFeedbackSchema>;

export type FeedbackOutcome =
  | { kind: 'opposed'; origin: 'hard-bounce' | 'complaint' | 'soft-bounces'; recipients: string[] }
  | { kind: 'counted'; recipient: string; softBounces: number }
  | { kind: 'delivered'; recipients: string[] }
  | { kind: 'ignored'; reason: string };

export class FeedbackProcessor {
  constructor(
    private readonly config: FairsendConfig,
    private readonly oppositions: OppositionList,
    private readonly sendLog: SendLog,
    private readonly log: Logger,
  ) {}

  async process(event: SesFeedback): Promise<FeedbackOutcome[]> {
    const type = event.eventType ?? event.notificationType;
    const controller = await this.controllerOf(event);
    if (!controller)
      return [{ kind: 'ignored', reason: `no known controller for SES message ${event.mail.messageId}` }];
    const evidence = { sesMessageId: event.mail.messageId };
    // Feedback about someone erased since (a bounce can come days later) is not recorded: their
    // address would be written back. They are opposed already, under a keyed hash.
    const erased = await erasedEntries(
      this.oppositions,
      this.config,
      controller,
      addresses([
        ...(event.bounce?.bouncedRecipients.map((r) => r.emailAddress) ?? []),
        ...(event.complaint?.complainedRecipients.map((r) => r.emailAddress) ?? []),
        ...(event.delivery?.recipients ?? []),
      ]),
    );
    const kept = (list: string[]) => list.filter((a) => !erased.has(a));
    if (erased.size > 0) this.log.info('feedback.erased-recipients-ignored', { count: erased.size });

    if (type === 'Bounce' && event.bounce) {
      const bounce = event.bounce;
      const recipients = kept(addresses(bounce.bouncedRecipients.map((r) => r.emailAddress)));
      const bounceEvent = (recipient: string, kind: 'bounced' | 'suppressed' | 'soft-bounced') =>
        this.sendLog.recordEvent(controller, recipient, event.mail.messageId, {
          kind,
          at: bounce.timestamp,
          detail: [
            bounce.bounceType,
            bounce.bounceSubType,
            bounce.bouncedRecipients.find((r) => normaliseAddress(r.emailAddress)?.address === recipient)
              ?.diagnosticCode,
          ]
            .filter(Boolean)
            .join(' · ')
            .slice(0, 300),
        });
      if (bounce.bounceType === 'Permanent') {
        for (const recipient of recipients) {
          // SES did not even try: the address is on the account's (or SES's global) suppression list.
          const suppressed = /suppress/i.test(bounce.bounceSubType ?? '');
          await bounceEvent(recipient, suppressed ? 'suppressed' : 'bounced');
          await this.oppose(controller, recipient, 'hard-bounce', bounce.timestamp, {
            ...evidence,
            feedbackId: bounce.feedbackId,
            bounceSubType: bounce.bounceSubType ?? '',
            diagnostic: (
              bounce.bouncedRecipients.find((r) => normaliseAddress(r.emailAddress)?.address === recipient)
                ?.diagnosticCode ?? ''
            ).slice(0, 300),
          });
        }
        return [{ kind: 'opposed', origin: 'hard-bounce', recipients }];
      }
      // Transient and undetermined bounces are counted; enough of them in the window suppress.
      const { softBounceLimit, softBounceWindowDays } = this.config.feedback;
      const outcomes: FeedbackOutcome[] = [];
      for (const recipient of recipients) {
        await bounceEvent(recipient, 'soft-bounced');
        const since = new Date(Date.parse(bounce.timestamp) - softBounceWindowDays * 86_400_000);
        const count = await this.sendLog.recordSoftBounce(
          controller,
          recipient,
          bounce.timestamp,
          bounce.feedbackId,
          since,
        );
        if (count >= softBounceLimit) {
          await this.oppose(controller, recipient, 'soft-bounces', bounce.timestamp, {
            ...evidence,
            feedbackId: bounce.feedbackId,
            softBounces: `${count} in ${softBounceWindowDays} days`,
          });
          outcomes.push({ kind: 'opposed', origin: 'soft-bounces', recipients: [recipient] });
        } else {
          outcomes.push({ kind: 'counted', recipient, softBounces: count });
        }
      }
      return outcomes;
    }
    if (type === 'Complaint' && event.complaint) {
      const complaint = event.complaint;
      const recipients = kept(addresses(complaint.complainedRecipients.map((r) => r.emailAddress)));
      for (const recipient of recipients) {
        await this.sendLog.recordEvent(controller, recipient, event.mail.messageId, {
          kind: 'complained',
          at: complaint.timestamp,
          ...(complaint.complaintFeedbackType ? { detail: complaint.complaintFeedbackType } : {}),
        });
        await this.oppose(controller, recipient, 'complaint', complaint.timestamp, {
          ...evidence,
          feedbackId: complaint.feedbackId,
          feedbackType: complaint.complaintFeedbackType ?? '',
        });
      }
      return [{ kind: 'opposed', origin: 'complaint', recipients }];
    }
    if (type === 'Delivery' && event.delivery) {
      const recipients = kept(addresses(event.delivery.recipients));
      for (const recipient of recipients) {
        await this.sendLog.recordDelivery(controller, recipient, event.mail.messageId, event.delivery.timestamp);
      }
      return [{ kind: 'delivered', recipients }];
    }
    return [{ kind: 'ignored', reason: `event type ${type} is not handled` }];
  }

  private async controllerOf(event: SesFeedback): Promise<string | undefined> {
    const tagged = event.mail.tags?.controller?.[0];
    if (tagged && this.config.controllers[tagged]) return tagged;
    const logged = await this.sendLog.controllerOfSesMessage(event.mail.messageId);
    return logged && this.config.controllers[logged] ? logged : undefined;
  }

  private async oppose(
    controller: string,
    recipient: string,
    origin: 'hard-bounce' | 'complaint' | 'soft-bounces',
    requestedAt: string,
    evidence: Record<string, string>,
  ): Promise<void> {
    const result = await this.oppositions.add({
      controller,
      subject: recipient,
      origin,
      requestedAt: new Date(requestedAt).toISOString(),
      effectiveAt: new Date().toISOString(),
      evidence,
    });
    this.log.info('feedback.opposition', { controller, origin, created: result.created });
  }
}

function addresses(list: string[]): string[] {
  const out = new Set<string>();
  for (const entry of list) {
    // SES may give "Name <addr>"; keep the address.
    const address = normaliseAddress(entry.replace(/^.*<([^>]+)>.*$/, '$1'));
    if (address) out.add(address.address);
  }
  return [...out];
}
