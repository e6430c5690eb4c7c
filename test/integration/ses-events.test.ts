import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snsEnvelope } from '../../infra/local/mailbox-simulator.ts';
import type { LocalStack } from '../../infra/local/stack.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { plainMessage } from '../helpers/messages.ts';
import { sendWithNodemailer, smtpErrorOf } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

let stack: LocalStack;
const log = memoryLogger();
beforeAll(async () => {
  stack = await startTestStack({ log });
});
afterAll(async () => {
  await stack?.stop();
});

const mail = (messageId: string, controller: string | undefined, destination: string[]) => ({
  timestamp: new Date().toISOString(),
  messageId,
  source: 'alice@acme.example',
  destination,
  ...(controller ? { tags: { controller: [controller], purpose: ['acme-prospecting'] } } : {}),
});
const oppositionOf = async (controller: string, address: string) =>
  (await stack.stores.oppositions.list(controller)).find((o) => o.subject === address);
const sendTo = (address: string) =>
  sendWithNodemailer(stack, { from: 'alice@acme.example', to: [address], raw: plainMessage() }).catch(
    (e: unknown) => e,
  );

describe('SES events', () => {
  it('blocks only the bounced recipient of a multi-recipient message (notification format)', async () => {
    const to = ['b1@client.example', 'b2@client.example', 'b3@client.example'];
    const result = await stack.sesEvents(
      snsEnvelope({
        notificationType: 'Bounce',
        mail: mail('ses-1', 'acme', to),
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          bouncedRecipients: [
            { emailAddress: 'B2@client.example', status: '5.1.1', diagnosticCode: 'smtp; 550 no such user' },
          ],
          timestamp: new Date().toISOString(),
          feedbackId: 'fb-1',
        },
      }),
    );
    expect(result.outcomes).toEqual([{ kind: 'opposed', origin: 'hard-bounce', recipients: ['b2@client.example'] }]);
    expect(await oppositionOf('acme', 'b2@client.example')).toMatchObject({
      origin: 'hard-bounce',
      evidence: { sesMessageId: 'ses-1', feedbackId: 'fb-1', diagnostic: 'smtp; 550 no such user' },
    });
    expect(await oppositionOf('acme', 'b1@client.example')).toBeUndefined();
    expect(await oppositionOf('acme', 'b3@client.example')).toBeUndefined();
    expect(smtpErrorOf(await sendTo('b2@client.example')).response).toMatch(/^550 5\.7\.1/);
    expect(((await sendTo('b1@client.example')) as { response: string }).response).toMatch(/^250 /);
  });

  it('blocks a complaint (event-publishing format) for that company only', async () => {
    await stack.sesEvents(
      snsEnvelope({
        eventType: 'Complaint',
        mail: mail('ses-2', 'globex', ['angry@client.example']),
        complaint: {
          complainedRecipients: [{ emailAddress: 'angry@client.example' }],
          timestamp: new Date().toISOString(),
          feedbackId: 'fb-2',
          complaintFeedbackType: 'abuse',
        },
      }),
    );
    expect(await oppositionOf('globex', 'angry@client.example')).toMatchObject({ origin: 'complaint' });
    expect(await oppositionOf('acme', 'angry@client.example')).toBeUndefined();
  });

  it('finds the company from the send log when the event has no tags', async () => {
    await sendTo('untagged@client.example');
    const sesId = stack.ses!.messages.find((m) => m.destination[0] === 'untagged@client.example')!.id;
    await stack.sesEvents(
      snsEnvelope({
        notificationType: 'Complaint',
        mail: mail(sesId, undefined, ['untagged@client.example']),
        complaint: {
          complainedRecipients: [{ emailAddress: 'untagged@client.example' }],
          timestamp: new Date().toISOString(),
          feedbackId: 'fb-3',
        },
      }),
    );
    expect(await oppositionOf('acme', 'untagged@client.example')).toMatchObject({ origin: 'complaint' });
  });

  it('counts transient bounces and suppresses at the limit, once per feedback id under SNS redelivery', async () => {
    const bounce = (feedbackId: string, timestamp: string) =>
      snsEnvelope({
        eventType: 'Bounce',
        mail: mail(`ses-${feedbackId}`, 'acme', ['soft@client.example']),
        bounce: {
          bounceType: 'Transient',
          bounceSubType: 'MailboxFull',
          bouncedRecipients: [{ emailAddress: 'soft@client.example' }],
          timestamp,
          feedbackId,
        },
      });
    const t = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
    const first = bounce('s1', t(30));
    expect((await stack.sesEvents(first)).outcomes).toEqual([
      { kind: 'counted', recipient: 'soft@client.example', softBounces: 1 },
    ]);
    expect((await stack.sesEvents(first)).outcomes).toEqual([
      { kind: 'counted', recipient: 'soft@client.example', softBounces: 1 },
    ]);
    await stack.sesEvents(bounce('s2', t(20)));
    expect(await oppositionOf('acme', 'soft@client.example')).toBeUndefined();
    expect((await stack.sesEvents(bounce('s3', t(10)))).outcomes[0]).toMatchObject({
      kind: 'opposed',
      origin: 'soft-bounces',
    });
    expect(await oppositionOf('acme', 'soft@client.example')).toMatchObject({ origin: 'soft-bounces' });
  });

  it('is idempotent under redelivery of a permanent bounce', async () => {
    const event = snsEnvelope({
      notificationType: 'Bounce',
      mail: mail('ses-r', 'acme', ['again@client.example']),
      bounce: {
        bounceType: 'Permanent',
        bouncedRecipients: [{ emailAddress: 'again@client.example' }],
        timestamp: new Date().toISOString(),
        feedbackId: 'fb-r',
      },
    });
    await stack.sesEvents(event);
    const first = await oppositionOf('acme', 'again@client.example');
    await stack.sesEvents(event);
    expect(await oppositionOf('acme', 'again@client.example')).toEqual(first);
  });

  it('acknowledges and logs malformed events and unknown types without throwing', async () => {
    const before = (await stack.stores.oppositions.list('acme')).length;
    const results = [
      await stack.sesEvents({ hello: 'world' }),
      await stack.sesEvents({ Records: [{ Sns: { Message: 'not json' } }] }),
      await stack.sesEvents({ Records: [{ nope: true }] }),
      await stack.sesEvents(
        snsEnvelope({ notificationType: 'Bounce', mail: { messageId: 'x' }, bounce: { bounceType: 'Weird' } }),
      ),
      await stack.sesEvents(
        snsEnvelope({ eventType: 'Open', mail: mail('ses-o', 'acme', ['x@client.example']), open: {} }),
      ),
      await stack.sesEvents(
        snsEnvelope({
          eventType: 'Complaint',
          mail: mail('ses-u', 'nobody', ['x@client.example']),
          complaint: {
            complainedRecipients: [{ emailAddress: 'x@client.example' }],
            timestamp: '2026-03-14T09:30:12.345Z',
            feedbackId: 'f',
          },
        }),
      ),
      // A timestamp that is not ISO 8601 is a malformed event, refused at the edge (not a RangeError later).
      await stack.sesEvents(
        snsEnvelope({
          eventType: 'Complaint',
          mail: mail('ses-t', 'acme', ['x@client.example']),
          complaint: {
            complainedRecipients: [{ emailAddress: 'x@client.example' }],
            timestamp: 'now',
            feedbackId: 'f',
          },
        }),
      ),
    ];
    expect(results.slice(0, 4).map((r) => r.skipped)).toEqual([1, 1, 1, 1]);
    expect(results[4]!.outcomes).toEqual([{ kind: 'ignored', reason: 'event type Open is not handled' }]);
    expect(results[5]!.outcomes[0]).toMatchObject({ kind: 'ignored' });
    expect(results[6]!.skipped).toBe(1);
    expect(log.events.filter((e) => e.event.startsWith('ses-events.malformed')).length).toBe(5);
    expect((await stack.stores.oppositions.list('acme')).length).toBe(before);
  });
});

describe('mailbox simulator loop', () => {
  it('bounce@ and complaint@ produce oppositions and the next send is refused; success@ records the delivery', async () => {
    await sendWithNodemailer(stack, {
      from: 'alice@acme.example',
      to: ['bounce@simulator.amazonses.com', 'complaint@simulator.amazonses.com', 'success@simulator.amazonses.com'],
      raw: plainMessage(),
    });
    await stack.simulator!.settled();
    expect(await oppositionOf('acme', 'bounce@simulator.amazonses.com')).toMatchObject({ origin: 'hard-bounce' });
    expect(await oppositionOf('acme', 'complaint@simulator.amazonses.com')).toMatchObject({ origin: 'complaint' });
    expect(await oppositionOf('acme', 'success@simulator.amazonses.com')).toBeUndefined();
    const again = await sendWithNodemailer(stack, {
      from: 'alice@acme.example',
      to: ['bounce@simulator.amazonses.com', 'complaint@simulator.amazonses.com', 'success@simulator.amazonses.com'],
      raw: plainMessage(),
    });
    expect(again.rejected).toEqual(['bounce@simulator.amazonses.com', 'complaint@simulator.amazonses.com']);
    expect(again.accepted).toEqual(['success@simulator.amazonses.com']);
    await stack.simulator!.settled();
    const deliveries = await stack.db.send(
      new QueryCommand({
        TableName: stack.config.dynamodb.tables.sendLog,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :d)',
        ExpressionAttributeValues: { ':pk': 'acme#success@simulator.amazonses.com', ':d': 'delivered#' },
      }),
    );
    expect(deliveries.Items).toHaveLength(2);
  });
});
