import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { sentCopySchema } from '../../shared/stores/send-log.ts';
import { testConfig } from '../helpers/config.ts';
import { plainMessage } from '../helpers/messages.ts';
import { sendWithNodemailer, smtpErrorOf } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack({
    config: await testConfig((raw) => {
      raw.ses.retryDeadlineMs = 1500;
      raw.ses.requestTimeoutMs = 400;
    }),
  });
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => {
  stack.ses!.clear();
  stack.ses!.clearFaults();
});

const send = (to: string[], raw: string | Buffer) => sendWithNodemailer(stack, { from: 'alice@acme.example', to, raw });

describe('one SES call per recipient', () => {
  it('sends 20 recipients as 20 SendEmail calls, each with its own destination', async () => {
    const to = Array.from({ length: 20 }, (_, i) => `person${i}@client.example`);
    const info = await send(to, plainMessage({ to: 'undisclosed-recipients:;' }));
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: 20 of 20 copies sent/);
    expect(stack.ses!.requests).toBe(20);
    expect(stack.ses!.messages.map((m) => m.destination).sort()).toEqual(to.map((t) => [t]).sort());
  });

  it('strips Bcc and keeps the visible To and Cc', async () => {
    const raw = plainMessage({
      to: 'bob@client.example',
      extraHeaders: ['Cc: dave@client.example', 'Bcc: secret@client.example,\r\n other-secret@client.example'],
    });
    await send(['bob@client.example', 'dave@client.example', 'secret@client.example'], raw);
    expect(stack.ses!.messages).toHaveLength(3);
    for (const message of stack.ses!.messages) {
      const text = message.raw.toString('utf8');
      expect(text).not.toMatch(/^bcc:/im);
      expect(text).not.toContain('secret@client.example');
      expect(text).toContain('To: bob@client.example\r\n');
      expect(text).toContain('Cc: dave@client.example\r\n');
      const parsed = await simpleParser(message.raw);
      expect(parsed.text).toMatch(/^Bonjour,\nceci est un test\.\n/);
      expect(parsed.headers.has('bcc')).toBe(false);
    }
  });

  it('sends a recipient given twice only once', async () => {
    await send(['bob@client.example', 'BOB@client.example'], plainMessage());
    expect(stack.ses!.requests).toBe(1);
  });
});

describe('when SES misbehaves', () => {
  it('retries through throttling and then delivers', async () => {
    stack.ses!.injectFault('throttle', 2);
    const info = await send(['bob@client.example'], plainMessage());
    expect(info.response).toMatch(/^250 /);
    expect(stack.ses!.requests).toBe(3);
    expect(stack.ses!.messages).toHaveLength(1);
  });

  it('answers 451 when SES stays down, and a retry of the same message sends each recipient exactly once', async () => {
    const raw = plainMessage({ subject: 'retry me' });
    const to = ['bob@client.example', 'carol@client.example', 'dave@client.example'];
    stack.ses!.injectFault('error', Number.POSITIVE_INFINITY, 'carol@client.example');
    const error = await send(to, raw).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toMatch(
      /^451 4\.4\.1 SES could not take every copy now \(2 of 3 copies sent\); try again later\. <carol@client\.example>: SES unavailable/,
    );
    expect(stack.ses!.messages.map((m) => m.destination[0]).sort()).toEqual([
      'bob@client.example',
      'dave@client.example',
    ]);

    // What a retry needs of the copies sent, not the subject, the Message-ID, the purpose or the
    // copy id, which the copy's history item keeps (data minimisation); and what the version
    // before reads of them (sentCopySchema), which may run beside this one in a rolling deploy.
    const idempotency = await stack.db.send(
      new ScanCommand({
        TableName: stack.config.dynamodb.tables.sendLog,
        FilterExpression: 'begins_with(pk, :idem)',
        ExpressionAttributeValues: { ':idem': 'idem#' },
      }),
    );
    const sentNow = new Set(stack.ses!.messages.map((m) => m.id));
    const records = (idempotency.Items ?? []).filter((item) => sentNow.has(item.sesMessageId));
    const fields = ['at', 'controller', 'expires', 'idempotencyKey', 'pk', 'recipient', 'sesMessageId', 'sk', 'user'];
    expect(records.map((item) => Object.keys(item).sort())).toEqual([fields, fields]);
    for (const item of records) expect(sentCopySchema.safeParse(item).success).toBe(true);

    stack.ses!.clearFaults();
    const info = await send(to, raw);
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: 3 of 3 copies sent/);
    const counts = new Map<string, number>();
    for (const m of stack.ses!.messages) counts.set(m.destination[0]!, (counts.get(m.destination[0]!) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({
      'bob@client.example': 1,
      'carol@client.example': 1,
      'dave@client.example': 1,
    });
  });

  it('retries after a dropped connection and after a hung request', async () => {
    stack.ses!.injectFault('drop', 1);
    stack.ses!.injectFault('hang', 1);
    const info = await send(['bob@client.example'], plainMessage());
    expect(info.response).toMatch(/^250 /);
    expect(stack.ses!.messages).toHaveLength(1);
  });

  it("gives SES's reason in a 554 when SES refuses for good", async () => {
    stack.ses!.injectFault('reject', 1);
    const error = await send(['bob@client.example'], plainMessage()).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toBe(
      '554 5.7.1 SES refused the message (0 of 1 copies sent). <bob@client.example>: MessageRejected: Email address is not verified. The following identities failed the check.',
    );
    expect(stack.ses!.messages).toHaveLength(0);
  });

  it('records every sent copy in the send log', async () => {
    await send(['erin@client.example'], plainMessage());
    const history = await stack.stores.sendLog.history('acme', 'erin@client.example');
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({
      controller: 'acme',
      purpose: 'acme-prospecting',
      user: 'alice',
      recipient: 'erin@client.example',
      sesMessageId: stack.ses!.messages[0]!.id,
    });
  });
});
