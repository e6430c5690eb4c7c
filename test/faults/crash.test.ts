import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../shared/stores/dynamo.ts';
import { DynamoSendLog } from '../../shared/stores/send-log.ts';
import { testConfig } from '../helpers/config.ts';
import { plainMessage } from '../helpers/messages.ts';
import { type RelayChild, startRelayChild } from '../helpers/relay-child.ts';
import { type Services, startServices } from '../helpers/services.ts';
import { sendWithNodemailer } from '../helpers/smtp.ts';
import { testCertificate } from '../helpers/stack.ts';

/**
 * The relay process killed (SIGKILL) in the middle of a transaction and started again: the client
 * was never told 250, it retries, and every recipient gets exactly one copy.
 */
let services: Services;
let relay: RelayChild | undefined;

beforeAll(async () => {
  services = await startServices(
    await testConfig((raw) => {
      raw.ses.requestTimeoutMs = 20_000;
      raw.ses.retryDeadlineMs = 30_000;
    }),
  );
});
afterAll(async () => {
  await relay?.kill('SIGKILL');
  await services?.stop();
});

function send(port: number, to: string[], raw: string) {
  return sendWithNodemailer({ port }, { from: 'alice@acme.example', to, raw, socketTimeout: 60_000 });
}

describe('relay killed mid-transaction', () => {
  it('tells the client nothing it could take for a 250, and a retry sends each recipient exactly once', async () => {
    const tls = await testCertificate();
    relay = await startRelayChild(services.config, tls);
    const to = ['bob@client.example', 'carol@client.example', 'dave@client.example'];
    const raw = plainMessage({ subject: 'crash test' });
    services.ses.injectFault('hang', Number.POSITIVE_INFINITY, 'carol@client.example');

    const first = send(relay.ports.starttls, to, raw).then(
      () => 'accepted',
      (err: { response?: string; code?: string }) => err.response ?? err.code ?? 'error',
    );
    await expect.poll(() => services.ses.messages.length, { timeout: 15_000 }).toBe(2);
    await expect.poll(() => services.ses.requests, { timeout: 15_000 }).toBe(3); // carol's copy is hanging
    // Kill once the relay has recorded what SES took (the documented at-least-once window is the
    // few milliseconds between SES's answer and that record; this test is about the rest).
    const db = createDynamoClient(services.config.dynamodb);
    const log = new DynamoSendLog(db, services.config.dynamodb.tables.sendLog);
    await expect
      .poll(
        async () =>
          (await log.history('acme', 'bob@client.example')).length +
          (await log.history('acme', 'dave@client.example')).length,
        {
          timeout: 15_000,
        },
      )
      .toBe(2);
    db.destroy();
    await relay.kill('SIGKILL');
    const told = await first;
    expect(told).not.toBe('accepted');
    expect(told).not.toMatch(/^2/);

    services.ses.clearFaults();
    relay = await startRelayChild(services.config, tls);
    const retry = await send(relay.ports.starttls, to, raw);
    expect(retry.response).toMatch(/^250 2\.0\.0 Ok: 3 of 3 copies sent/);
    const counts: Record<string, number> = {};
    for (const m of services.ses.messages) counts[m.destination[0]!] = (counts[m.destination[0]!] ?? 0) + 1;
    expect(counts).toEqual({ 'bob@client.example': 1, 'carol@client.example': 1, 'dave@client.example': 1 });
  }, 90_000);
});
