import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { testConfig } from '../helpers/config.ts';
import { plainMessage } from '../helpers/messages.ts';
import { sendWithNodemailer } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

/** What a message costs in DynamoDB round trips, counted where the relay makes them. */
let stack: LocalStack;
beforeAll(async () => {
  // No periodic reads of the SMTP users during the counts.
  const config = await testConfig((raw) => {
    raw.smtp.userRefreshMs = 3_600_000;
  });
  stack = await startTestStack({ config });
});
afterAll(async () => {
  await stack?.stop();
});

describe('DynamoDB requests per message', () => {
  it('reads the opposition check and the contact record at each RCPT, then already-sent copies and the re-check at DATA, one BatchGetItem each', async () => {
    const before = { ...stack.dynamoUsage.requests };
    await sendWithNodemailer(stack, {
      from: 'alice@acme.example',
      to: ['reads@client.example', 'reads2@client.example'],
      raw: plainMessage(),
    });
    const delta = (command: string) => (stack.dynamoUsage.requests[command] ?? 0) - (before[command] ?? 0);
    // One per RCPT (the opposition check and the contact record) and one at DATA for the rest.
    expect(delta('BatchGetItemCommand')).toBe(3);
  });

  it('sends a 1-recipient message to a known contact in 3 requests, and 10 recipients in at most 1.5 per copy', async () => {
    const send = (to: string[]) =>
      sendWithNodemailer(stack, { from: 'alice@acme.example', to, raw: plainMessage({ to: to.join(', ') }) });
    const total = () => Object.values(stack.dynamoUsage.requests).reduce((a, b) => a + b, 0);
    const ten = Array.from({ length: 10 }, (_, i) => `known${i}@client.example`);
    await send(['known@client.example']); // first contacts: their claims are one-off
    await send(ten);
    let before = total();
    await send(['known@client.example']);
    // The opposition check (and contact record) at RCPT, one batched read at DATA, one batched write after SES.
    expect(total() - before).toBe(3);
    before = total();
    await send(ten);
    const perCopy = (total() - before) / 10;
    // 10 RCPT checks, 1 read, and the send-log writes of copies grouped 8 at a time (2, or 3 when
    // SES answers the copies more than 20 ms apart).
    expect(perCopy).toBeLessThanOrEqual(1.5);
    expect(total() - before).toBeGreaterThanOrEqual(13);
  });
});
