import type { SESEvent } from 'aws-lambda';
import { z } from 'zod';
import type { Logger } from '../../shared/log.ts';
import type { UnsubscribeService } from '../../shared/unsubscribe.ts';
import { TOKEN_PATTERN } from '../../shared/unsubscribe-token.ts';

/**
 * The `mailto:` of List-Unsubscribe. An SES receipt rule for the unsubscribe address invokes
 * this function with a Lambda action: the receipt event carries the headers (not the body), and
 * the token travels in the Subject (`unsubscribe <token>`, as Fairsend writes the mailto URI) or
 * in the address (`unsubscribe+<token>@…`). Mail without a valid token is ignored.
 */
const receiptSchema = z.object({
  Records: z.array(
    z.object({
      ses: z.object({
        mail: z
          .object({
            messageId: z.string(),
            timestamp: z.string(),
            destination: z.array(z.string()).default([]),
            commonHeaders: z.object({ subject: z.string().optional() }).loose().default({}),
          })
          .loose(),
      }),
    }),
  ),
});

const TOKEN = new RegExp(`\\b(${TOKEN_PATTERN.source})\\b`);

export interface MailtoResult {
  unsubscribed: number;
  ignored: number;
}

export function createMailtoUnsubscribeHandler(service: UnsubscribeService, log: Logger) {
  return async (event: SESEvent | unknown): Promise<MailtoResult> => {
    const parsed = receiptSchema.safeParse(event);
    if (!parsed.success) {
      log.warn('mailto.malformed-event', { issue: parsed.error.issues[0]?.message });
      return { unsubscribed: 0, ignored: 1 };
    }
    const result: MailtoResult = { unsubscribed: 0, ignored: 0 };
    for (const { ses } of parsed.data.Records) {
      const candidates = [
        ses.mail.commonHeaders.subject ?? '',
        ...ses.mail.destination.map((d) => d.split('@')[0] ?? ''),
      ];
      const token = candidates.map((c) => TOKEN.exec(c.replace(/^.*\+/, ''))?.[1] ?? TOKEN.exec(c)?.[1]).find(Boolean);
      const lookup = token ? service.lookup(token) : undefined;
      if (!lookup?.ok) {
        result.ignored++;
        log.info('mailto.no-valid-token', { sesMessageId: ses.mail.messageId, reason: lookup?.reason ?? 'no token' });
        continue;
      }
      await service.unsubscribe(lookup.request, 'mailto', new Date(ses.mail.timestamp), {
        via: 'mailto',
        inboundMessageId: ses.mail.messageId,
      });
      result.unsubscribed++;
    }
    return result;
  };
}
