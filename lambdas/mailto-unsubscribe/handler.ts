import type { SESEvent } from 'aws-lambda';
import { z } from 'zod';
import type { Logger } from '../../shared/log.ts';
import type { UnsubscribeService } from '../../shared/unsubscribe.ts';
import { TOKEN_PATTERN } from '../../shared/unsubscribe-token.ts';
import { type ParsedRecord, runRecords } from '../records.ts';

/**
 * The `mailto:` of List-Unsubscribe. An SES receipt rule for the unsubscribe address invokes
 * this function with a Lambda action: the receipt event carries the headers (not the body), and
 * the token travels in the Subject (`unsubscribe <token>`, as Fairsend writes the mailto URI) or
 * in the address (`unsubscribe+<token>@…`). Mail without a valid token is ignored; records are
 * run by the shared runner (lambdas/records.ts), like the SES events.
 */
const receiptRecordSchema = z.object({
  ses: z.object({
    mail: z
      .object({
        messageId: z.string(),
        timestamp: z.iso.datetime({ offset: true }),
        destination: z.array(z.string()).default([]),
        commonHeaders: z.object({ subject: z.string().optional() }).loose().default({}),
      })
      .loose(),
  }),
});
type ReceiptRecord = z.infer<typeof receiptRecordSchema>;

/**
 * A token standing alone: not `\b`, which finds no boundary after a final "-" (a base64url
 * character, one token in 64 ends with it) and so matched the token one character short.
 */
const TOKEN = new RegExp(`(?<![A-Za-z0-9_.-])(${TOKEN_PATTERN.source})(?![A-Za-z0-9_-])`);

export interface MailtoResult {
  unsubscribed: number;
  ignored: number;
}

/**
 * Where SES does not receive mail in the sending region (Paris), the receipt rule lives in a
 * receiving region and publishes to SNS, which invokes this function across regions: the record
 * is then an SNS notification whose Message is SES's `{notificationType: "Received", mail, receipt}`.
 */
const snsRecordSchema = z.object({ Sns: z.object({ Message: z.string() }) });

function asReceipt(raw: unknown): unknown {
  const sns = snsRecordSchema.safeParse(raw);
  if (!sns.success) return raw;
  try {
    const message = JSON.parse(sns.data.Sns.Message) as { mail?: unknown; receipt?: unknown };
    return { ses: { mail: message.mail, receipt: message.receipt } };
  } catch {
    return raw;
  }
}

function parseRecord(raw: unknown): ParsedRecord<ReceiptRecord> {
  const record = receiptRecordSchema.safeParse(asReceipt(raw));
  if (!record.success) {
    const issue = record.error.issues[0];
    return { ok: false, issue: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'not an SES receipt'}` };
  }
  return { ok: true, id: record.data.ses.mail.messageId, value: record.data };
}

export function createMailtoUnsubscribeHandler(service: UnsubscribeService, log: Logger) {
  return async (event: SESEvent | unknown): Promise<MailtoResult> => {
    const records = z.object({ Records: z.array(z.unknown()) }).safeParse(event);
    if (!records.success) {
      log.warn('mailto.malformed-event', { issue: records.error.issues[0]?.message });
      return { unsubscribed: 0, ignored: 1 };
    }
    const run = await runRecords(
      'mailto',
      records.data.Records,
      parseRecord,
      async ({ ses }) => {
        const candidates = [
          ses.mail.commonHeaders.subject ?? '',
          ...ses.mail.destination.map((d) => d.split('@')[0] ?? ''),
        ];
        const token = candidates
          .map((c) => TOKEN.exec(c.replace(/^.*\+/, ''))?.[1] ?? TOKEN.exec(c)?.[1])
          .find(Boolean);
        const lookup = token ? service.lookup(token) : undefined;
        if (!lookup?.ok) {
          log.info('mailto.no-valid-token', { sesMessageId: ses.mail.messageId, reason: lookup?.reason ?? 'no token' });
          return false;
        }
        await service.unsubscribe(lookup.request, 'mailto', new Date(ses.mail.timestamp), {
          via: 'mailto',
          inboundMessageId: ses.mail.messageId,
        });
        return true;
      },
      log,
    );
    const unsubscribed = run.results.filter(Boolean).length;
    return { unsubscribed, ignored: run.skipped + run.results.length - unsubscribed };
  };
}
