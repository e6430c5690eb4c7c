import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { plainMessage } from '../helpers/messages.ts';
import { sendWithNodemailer } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

/** What a message costs in DynamoDB round trips, counted where the relay makes them. */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('DynamoDB requests per message', () => {
  it('reads contacts, already-sent copies and the opposition re-check at DATA in one BatchGetItem', async () => {
    const before = { ...stack.dynamoUsage.requests };
    await sendWithNodemailer(stack, {
      from: 'alice@acme.example',
      to: ['reads@client.example', 'reads2@client.example'],
      raw: plainMessage(),
    });
    const delta = (command: string) => (stack.dynamoUsage.requests[command] ?? 0) - (before[command] ?? 0);
    // One per RCPT (the opposition check) and one at DATA for everything else that is read.
    expect(delta('BatchGetItemCommand')).toBe(3);
  });
});
