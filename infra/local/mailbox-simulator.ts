import { randomUUID } from 'node:crypto';
import type { SNSEvent } from 'aws-lambda';
import type { Logger } from '../../shared/log.ts';
import type { SesStandIn, StoredMessage } from './ses-stand-in.ts';

/**
 * SES's mailbox simulator, locally: a copy sent to bounce@, complaint@, success@ or
 * suppressionlist@simulator.amazonses.com makes the SES stand-in publish the matching event
 * (configuration-set event publishing format, inside an SNS envelope) to the ses-events handler,
 * as SES → SNS → Lambda would. The whole feedback loop runs on one machine.
 */
export const SIMULATOR_DOMAIN = 'simulator.amazonses.com';

type SesEventsHandler = (event: SNSEvent) => Promise<unknown>;

export class MailboxSimulator {
  private pending = new Set<Promise<unknown>>();

  constructor(
    ses: SesStandIn,
    private readonly handler: SesEventsHandler,
    private readonly log: Logger,
    private readonly delayMs = 20,
  ) {
    ses.on('message', (message: StoredMessage) => this.onMessage(message));
  }

  /** Resolves once every event published so far has been handled. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private onMessage(message: StoredMessage): void {
    for (const recipient of message.destination) {
      const [local, domain] = recipient.toLowerCase().split('@');
      if (domain !== SIMULATOR_DOMAIN) continue;
      const event = simulatedEvent(local ?? '', recipient, message);
      if (!event) continue;
      const run = new Promise((resolve) => setTimeout(resolve, this.delayMs))
        .then(() => this.handler(snsEnvelope(event)))
        .catch((err: unknown) => this.log.error('simulator.handler-failed', { err }))
        .finally(() => this.pending.delete(run));
      this.pending.add(run);
    }
  }
}

function simulatedEvent(local: string, recipient: string, message: StoredMessage): Record<string, unknown> | null {
  const timestamp = new Date().toISOString();
  const mail = {
    timestamp: message.receivedAt,
    messageId: message.id,
    source: message.from,
    destination: message.destination,
    tags: Object.fromEntries(Object.entries(message.tags).map(([k, v]) => [k, [v]])),
  };
  const feedbackId = `${randomUUID()}-000000`;
  switch (local) {
    case 'bounce':
    case 'suppressionlist':
      return {
        eventType: 'Bounce',
        mail,
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: local === 'bounce' ? 'General' : 'OnAccountSuppressionList',
          bouncedRecipients: [
            {
              emailAddress: recipient,
              action: 'failed',
              status: '5.1.1',
              diagnosticCode: 'smtp; 550 5.1.1 user unknown',
            },
          ],
          timestamp,
          feedbackId,
        },
      };
    case 'complaint':
      return {
        eventType: 'Complaint',
        mail,
        complaint: {
          complainedRecipients: [{ emailAddress: recipient }],
          timestamp,
          feedbackId,
          complaintFeedbackType: 'abuse',
        },
      };
    case 'success':
      return {
        eventType: 'Delivery',
        mail,
        delivery: {
          timestamp,
          recipients: [recipient],
          processingTimeMillis: 20,
          smtpResponse: '250 2.6.0 Message received',
        },
      };
    default:
      return null;
  }
}

export function snsEnvelope(payload: unknown): SNSEvent {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: 'arn:aws:sns:eu-west-3:000000000000:fairsend-ses-events:local',
        Sns: {
          Type: 'Notification',
          MessageId: randomUUID(),
          TopicArn: 'arn:aws:sns:eu-west-3:000000000000:fairsend-ses-events',
          Subject: '',
          Message: JSON.stringify(payload),
          Timestamp: new Date().toISOString(),
          SignatureVersion: '1',
          Signature: '',
          SigningCertUrl: '',
          UnsubscribeUrl: '',
          MessageAttributes: {},
        },
      },
    ],
  };
}
