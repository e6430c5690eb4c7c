import type { SNSEvent, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import {
  type FeedbackOutcome,
  type FeedbackProcessor,
  type SesFeedback,
  sesFeedbackSchema,
} from '../../shared/feedback.ts';
import type { Logger } from '../../shared/log.ts';
import { type ParsedRecord, runRecords } from '../records.ts';

/**
 * SES configuration set → SNS → SQS → this function (in AWS: the queue keeps what Lambda could
 * not take, and its dead-letter queue what failed for good), or SNS → this function directly
 * (locally). An SQS record's body is the SNS notification, whose Message is the SES event as a
 * JSON string. Records are run by the shared runner (lambdas/records.ts): malformed ones
 * acknowledged, a store outage thrown so the batch comes back (every write is idempotent).
 */
const snsRecordSchema = z.object({
  Sns: z.object({ MessageId: z.string().optional(), TopicArn: z.string().optional(), Message: z.string() }).loose(),
});
const sqsRecordSchema = z.object({ messageId: z.string(), body: z.string() }).loose();

/** An SQS record as the SNS record it carries. */
function fromSqs(raw: unknown): unknown {
  const sqs = sqsRecordSchema.safeParse(raw);
  if (!sqs.success) return raw;
  try {
    const body = JSON.parse(sqs.data.body) as { Message?: unknown; MessageId?: unknown };
    if (typeof body.Message === 'string') return { Sns: { MessageId: sqs.data.messageId, Message: body.Message } };
  } catch {
    // not JSON: reported as malformed below
  }
  return { Sns: { MessageId: sqs.data.messageId, Message: sqs.data.body } };
}

export interface SesEventsResult {
  processed: number;
  skipped: number;
  outcomes: FeedbackOutcome[];
}

function parseRecord(raw: unknown): ParsedRecord<SesFeedback> {
  const record = snsRecordSchema.safeParse(fromSqs(raw));
  if (!record.success) return { ok: false, issue: record.error.issues[0]?.message ?? 'not an SNS record' };
  const id = record.data.Sns.MessageId;
  let payload: unknown;
  try {
    payload = JSON.parse(record.data.Sns.Message);
  } catch {
    return { ok: false, id, issue: 'the SNS message is not JSON' };
  }
  const feedback = sesFeedbackSchema.safeParse(payload);
  if (!feedback.success) {
    const issue = feedback.error.issues[0];
    return { ok: false, id, issue: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'not an SES event'}` };
  }
  return { ok: true, id, value: feedback.data };
}

export function createSesEventsHandler(processor: FeedbackProcessor, log: Logger) {
  return async (event: SNSEvent | SQSEvent | unknown): Promise<SesEventsResult> => {
    const records = z.object({ Records: z.array(z.unknown()) }).safeParse(event);
    if (!records.success) {
      log.warn('ses-events.malformed-event', { issue: records.error.issues[0]?.message });
      return { processed: 0, skipped: 1, outcomes: [] };
    }
    const run = await runRecords(
      'ses-events',
      records.data.Records,
      parseRecord,
      async (feedback) => {
        const outcomes = await processor.process(feedback);
        for (const outcome of outcomes) {
          if (outcome.kind === 'ignored') log.info('ses-events.ignored', { reason: outcome.reason });
        }
        return outcomes;
      },
      log,
    );
    return { processed: run.processed, skipped: run.skipped, outcomes: run.results.flat() };
  };
}
