import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../shared/stores/dynamo.ts';
import { DynamoOppositionList } from '../../shared/stores/opposition-list.ts';
import { testConfig } from '../helpers/config.ts';
import { type RelayChild, type RelayStats, startRelayChild } from '../helpers/relay-child.ts';
import { type Services, startServices } from '../helpers/services.ts';
import { RawSmtp } from '../helpers/smtp.ts';
import { testCertificate } from '../helpers/stack.ts';

/**
 * 200 concurrent clients for FAULT_LOAD_SECONDS (30) with a mix of valid, opposed and malformed
 * messages, against the relay in its own process: it stays up, its memory stays flat, and every
 * reply is the one expected. Run by `npm run test:faults` (and .ci/run), not `npm test`.
 */
const CLIENTS = Number(process.env.FAULT_LOAD_CLIENTS ?? 200);
const SECONDS = Number(process.env.FAULT_LOAD_SECONDS ?? 30);

let services: Services;
let relay: RelayChild;

beforeAll(async () => {
  services = await startServices(
    await testConfig((raw) => {
      raw.smtp.maxConnections = 1000;
      // 200 clients from one address (127.0.0.1): the per-client cap is not what this test is about.
      raw.smtp.maxConnectionsPerIp = 1000;
      raw.ses.maxSendRate = 100_000;
    }),
    { keepMessages: false },
  );
  const db = createDynamoClient(services.config.dynamodb);
  const now = new Date().toISOString();
  await new DynamoOppositionList(db, services.config.dynamodb.tables.oppositions).add({
    controller: 'acme',
    subject: 'opposed@client.example',
    origin: 'manual',
    requestedAt: now,
    effectiveAt: now,
    evidence: {},
  });
  db.destroy();
  relay = await startRelayChild(services.config, await testCertificate());
}, 60_000);
afterAll(async () => {
  await relay?.kill('SIGKILL');
  await services?.stop();
});

describe('mixed traffic under load', () => {
  it(
    `${CLIENTS} clients for ${SECONDS}s: every reply right, relay up, memory flat`,
    async () => {
      const deadline = Date.now() + SECONDS * 1000;
      const counts = { valid: 0, opposed: 0, malformed: 0 };
      const wrong: string[] = [];
      // Memory after a full GC, a third of the way in and at the end: what is retained, not garbage.
      const settledStats = async () => {
        await relay.gc();
        return relay.stats();
      };
      let early: RelayStats | undefined;
      const sampler = setTimeout(() => settledStats().then((s) => (early = s)), (SECONDS * 1000) / 3);

      const client = async (id: number) => {
        const smtp = await RawSmtp.connect(relay.ports.starttls);
        await smtp.login();
        for (let i = 0; Date.now() < deadline; i++) {
          const slot = (id + i) % 10;
          const kind = slot < 7 ? 'valid' : slot < 9 ? 'opposed' : 'malformed';
          const expectLine = (reply: string, pattern: RegExp, step: string) => {
            if (!pattern.test(reply)) wrong.push(`${kind} ${step}: ${reply}`);
          };
          expectLine(await smtp.command('MAIL FROM:<alice@acme.example>'), /^250 /, 'MAIL');
          if (kind === 'opposed') {
            expectLine(await smtp.command('RCPT TO:<opposed@client.example>'), /^550 5\.7\.1 /, 'RCPT');
            expectLine(await smtp.command('RSET'), /^250 /, 'RSET');
            counts.opposed++;
            continue;
          }
          expectLine(await smtp.command(`RCPT TO:<c${id}-${i % 50}@client.example>`), /^250 /, 'RCPT');
          expectLine(await smtp.command('DATA'), /^354 /, 'DATA');
          const from = kind === 'valid' ? 'From: alice@acme.example\r\n' : '';
          smtp.write(
            `${from}To: x@client.example\r\nSubject: load ${id}-${i}\r\nMessage-ID: <${id}.${i}@acme.example>\r\n\r\nBody ${i}\r\n.\r\n`,
          );
          const reply = await smtp.reply(30_000);
          expectLine(
            reply,
            kind === 'valid' ? /^250 2\.0\.0 / : /^554 5\.6\.0 message refused: the message has no From header/,
            'end of DATA',
          );
          counts[kind]++;
        }
        await smtp.command('QUIT');
        smtp.close();
      };
      await Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id)));
      clearTimeout(sampler);
      const final = await settledStats();

      const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
      if (!early) throw new Error('no early memory sample');
      process.stdout.write(
        `mixed load: ${JSON.stringify(counts)} in ${SECONDS}s; relay after GC at ${Math.round(SECONDS / 3)}s: heap ${mb(early.heapUsed)}, RSS ${mb(early.rss)}; at the end: heap ${mb(final.heapUsed)}, RSS ${mb(final.rss)}; peak RSS ${mb(final.peakRss)}\n`,
      );
      expect(wrong.slice(0, 10)).toEqual([]);
      expect(relay.process.exitCode).toBeNull();
      expect(counts.valid).toBeGreaterThan(CLIENTS);
      expect(services.ses.accepted).toBe(counts.valid);
      // Flat: what survives a GC does not grow with the traffic.
      expect(final.heapUsed).toBeLessThan(early.heapUsed * 1.25 + 8 * 1024 * 1024);
      expect(final.rss).toBeLessThan(early.rss * 1.5);
    },
    (SECONDS + 120) * 1000,
  );
});
