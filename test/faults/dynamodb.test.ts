import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { startLocalStack } from '../../infra/local/stack.ts';
import { silentLogger } from '../../shared/log.ts';
import { testConfig } from '../helpers/config.ts';
import { plainMessage } from '../helpers/messages.ts';
import { type Services, startServices } from '../helpers/services.ts';
import { sendWithNodemailer, smtpErrorOf } from '../helpers/smtp.ts';
import { testCertificate } from '../helpers/stack.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/** DynamoDB slow or silent, through a TCP proxy in front of a real dynalite. */
let services: Services;
let proxy: TcpProxy;
let stack: LocalStack;

beforeAll(async () => {
  services = await startServices(await testConfig((raw) => (raw.dynamodb.requestTimeoutMs = 1000)));
  const target = new URL(services.config.dynamodb.endpoint!);
  proxy = new TcpProxy({ host: target.hostname, port: Number(target.port) });
  const port = await proxy.listen();
  const config = {
    ...services.config,
    dynamodb: { ...services.config.dynamodb, endpoint: `http://127.0.0.1:${port}` },
  };
  stack = await startLocalStack({
    config,
    tls: await testCertificate(),
    dynamodb: 'external',
    ses: 'external',
    log: silentLogger,
  });
});
afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
  await services?.stop();
});
beforeEach(() => {
  proxy.delayMs = 0;
  proxy.blackhole = false;
  services.ses.clear();
});

const send = (to: string[]) =>
  sendWithNodemailer(stack, { from: 'alice@acme.example', to, raw: plainMessage() }).catch((e: unknown) => e);

describe('DynamoDB slow or down', () => {
  it('still delivers when DynamoDB is slow but within the request timeout', async () => {
    proxy.delayMs = 100;
    expect((await send(['slow@client.example'])) as { response: string }).toMatchObject({
      response: expect.stringMatching(/^250 /),
    });
    expect(services.ses.accepted).toBe(1);
  });

  it('fails closed with 451 4.3.0 when DynamoDB stops answering, sends nothing, and recovers when it is back', async () => {
    proxy.blackhole = true;
    const started = Date.now();
    expect(smtpErrorOf(await send(['silent@client.example'])).response).toBe(
      '451 4.3.0 opposition list unavailable, try again later',
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(services.ses.requests).toBe(0);
    proxy.blackhole = false;
    expect((await send(['silent@client.example'])) as { response: string }).toMatchObject({
      response: expect.stringMatching(/^250 /),
    });
  });
});
