import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FairsendConfig } from '../../shared/config.ts';
import { testConfig } from '../helpers/config.ts';
import { plainMessage } from '../helpers/messages.ts';
import { type RelayChild, startRelayChild } from '../helpers/relay-child.ts';
import { type Services, startServices } from '../helpers/services.ts';
import { sendWithNodemailer } from '../helpers/smtp.ts';
import { testCertificate } from '../helpers/stack.ts';

/**
 * Three relay processes against an SES stand-in that enforces the account's send rate (20/s) and
 * counts throttles: with ses.fleetWide they share the rate and SES throttles (almost) nothing;
 * without, each keeps the whole rate and the fleet leans on throttling. Run by `npm run test:faults`.
 */
const RATE = 20;
const MESSAGES = 90;
let services: Services;
const relays: RelayChild[] = [];

beforeAll(async () => {
  services = await startServices(
    await testConfig((raw) => {
      raw.ses.maxSendRate = RATE;
      raw.ses.fleetHeartbeatMs = 300;
      raw.ses.retryDeadlineMs = 60_000;
      raw.smtp.maxConnectionsPerIp = 500;
    }),
    { keepMessages: false },
  );
  services.ses.maxRate = RATE;
}, 60_000);
afterEach(async () => {
  for (const relay of relays.splice(0)) await relay.kill('SIGKILL');
});
afterAll(async () => {
  await services?.stop();
});

async function fleet(fleetWide: boolean): Promise<{ throttled: number; seconds: number }> {
  const config: FairsendConfig = { ...services.config, ses: { ...services.config.ses, fleetWide } };
  const tls = await testCertificate();
  for (let i = 0; i < 3; i++) relays.push(await startRelayChild(config, tls));
  await new Promise((r) => setTimeout(r, 1000)); // a few heartbeats: every relay sees the others
  services.ses.clear();
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 12 }, async (_, worker) => {
      const relay = relays[worker % 3]!;
      while (next < MESSAGES) {
        const n = next++;
        await sendWithNodemailer(
          { port: relay.ports.starttls },
          {
            from: 'alice@acme.example',
            to: [`fleet${n}@client.example`],
            raw: plainMessage({ subject: `fleet ${fleetWide} ${n}` }),
          },
        );
      }
    }),
  );
  return { throttled: services.ses.throttled, seconds: (Date.now() - started) / 1000 };
}

describe('the SES send rate across a fleet of relays', () => {
  it('with fleetWide, three relays share the account rate: SES throttles almost nothing', async () => {
    const shared = await fleet(true);
    process.stdout.write(
      `fleet rate, shared: ${MESSAGES} copies in ${shared.seconds.toFixed(1)} s, ${shared.throttled} throttled by SES\n`,
    );
    expect(shared.throttled).toBeLessThanOrEqual(3);
    expect(MESSAGES / shared.seconds).toBeLessThanOrEqual(RATE * 1.3);
  }, 120_000);

  it('without it, each relay keeps the whole rate and SES throttles the fleet', async () => {
    const alone = await fleet(false);
    process.stdout.write(
      `fleet rate, per process: ${MESSAGES} copies in ${alone.seconds.toFixed(1)} s, ${alone.throttled} throttled by SES\n`,
    );
    expect(alone.throttled).toBeGreaterThan(10);
  }, 120_000);
});
