import type { SNSEvent } from 'aws-lambda';
import { z } from 'zod';
import { StoreUnavailableError } from '../../shared/errors.ts';
import { type FeedbackOutcome, type FeedbackProcessor, sesFeedbackSchema } from '../../shared/feedback.ts';
import type { Logger } from '../../shared/log.ts';

/**
 * SES configuration set → SNS → this function. Malformed records and event types we do not
 * handle are logged and acknowledged: they never crash the function or hold up the others. A
 * store that cannot be written throws, so Lambda retries the invocation (writes are idempotent).
 */
const snsRecordSchema = z.object({
  Sns: z.object({ MessageId: z.string().optional(), TopicArn: z.string().optional(), Message: z.string() }).loose(),
});

export interface SesEventsResult {
  processed: number;
  skipped: number;
  outcomes: FeedbackOutcome[];
}

export function createSesEventsHandler(processor: FeedbackProcessor, log: Logger) {
  return async (event: SNSEvent | unknown): Promise<SesEventsResult> => {
    const records = z.object({ Records: z.array(z.unknown()) }).safeParse(event);
    if (!records.success) {
      log.warn('ses-events.malformed-event', { issue: records.error.issues[0]?.message });
      return { processed: 0, skipped: 1, outcomes: [] };
    }
    const result: SesEventsResult = { processed: 0, skipped: 0, outcomes: [] };
    for (const raw of records.data.Records) {
      const record = snsRecordSchema.safeParse(raw);
      let payload: unknown;
      try {
        payload = record.success ? JSON.parse(record.data.Sns.Message) : undefined;
      } catch {
        payload = undefined;
      }
      const feedback = sesFeedbackSchema.safeParse(payload);
      if (!record.success || !feedback.success) {
        result.skipped++;
        log.warn('ses-events.malformed-record', {
          snsMessageId: record.success ? record.data.Sns.MessageId : undefined,
          issue: record.success ? feedback.error?.issues[0]?.message : record.error.issues[0]?.message,
        });
        continue;
      }
      try {
        const outcomes = await processor.process(feedback.data);
        result.processed++;
        result.outcomes.push(...outcomes);
        for (const outcome of outcomes) {
          if (outcome.kind === 'ignored') log.info('ses-events.ignored', { reason: outcome.reason });
        }
      } catch (err) {
        if (err instanceof StoreUnavailableError) throw err;
        result.skipped++;
        log.error('ses-events.record-failed', { err, snsMessageId: record.data.Sns.MessageId });
      }
    }
    return result;
  };
}
