import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, testConfig } from '../helpers/config.ts';
import { plainMessage } from '../helpers/messages.ts';
import { type RelayChild, startRelayChild } from '../helpers/relay-child.ts';
import { type Services, startServices } from '../helpers/services.ts';
import { RawSmtp, sendWithNodemailer } from '../helpers/smtp.ts';
import { testCertificate } from '../helpers/stack.ts';

/**
 * One client tries to lock the others out, with the relay's default limits, in its own process:
 * 127.0.0.2 opens 2,000 connections and guesses passwords while ten other clients send. Prints
 * the figures the README's security section quotes. Run by `npm run test:faults`.
 */
let services: Services;
let relay: RelayChild;
beforeAll(async () => {
  // Default limits, but a short delay cap: the delays themselves are not what this measures.
  services = await startServices(
    await testConfig((raw) => {
      raw.smtp.loginThrottle = { maxDelayMs: 20 };
    }),
    { keepMessages: false },
  );
  relay = await startRelayChild(services.config, await testCertificate());
}, 60_000);
afterAll(async () => {
  await relay?.kill('SIGKILL');
  await services?.stop();
});

async function openRaw(localAddress: string): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ port: relay.ports.starttls, host: '127.0.0.1', localAddress });
    socket.once('data', (greeting) => {
      if (greeting.toString().startsWith('220')) return resolve(socket);
      socket.destroy();
      resolve(null);
    });
    socket.once('error', () => resolve(null));
  });
}

describe('one client against the others, default limits', () => {
  it('2,000 connections from one address hold at most 50; the others still send within 2 s', async () => {
    // In waves of 200, so the kernel's accept backlog is not what limits the attempt.
    const held: net.Socket[] = [];
    for (let wave = 0; wave < 10; wave++) {
      const attempts = await Promise.all(Array.from({ length: 200 }, () => openRaw('127.0.0.2')));
      held.push(...attempts.filter((s): s is net.Socket => s !== null));
    }
    const latencies: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        for (let m = 0; m < 5; m++) {
          const started = Date.now();
          const info = await sendWithNodemailer(
            { port: relay.ports.starttls },
            {
              localAddress: `127.0.0.${3 + i}`,
              from: 'alice@acme.example',
              to: [`flood-${i}-${m}@client.example`],
              raw: plainMessage(),
            },
          );
          expect(info.response).toMatch(/^250 /);
          latencies.push(Date.now() - started);
        }
      }),
    );
    for (const s of held) s.destroy();
    const worst = Math.max(...latencies);
    process.stdout.write(
      `client flood: 2,000 connections tried from 127.0.0.2, ${held.length} held; 50 messages from 10 other clients, slowest ${worst} ms (connect to 250)\n`,
    );
    expect(held.length).toBe(50);
    expect(worst).toBeLessThan(2000);
  }, 120_000);

  it('guessing passwords from one address: at most 20 checked, then 454 even for the right one', async () => {
    let checked = 0;
    let refused = 0;
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    for (let c = 0; c < 40 && refused === 0; c++) {
      const smtp = await RawSmtp.connect(relay.ports.starttls, { localAddress: '127.0.0.20' });
      await smtp.command('EHLO guesser.example');
      await smtp.startTls();
      await smtp.command('EHLO guesser.example');
      for (let i = 0; i < 3; i++) {
        const reply = await smtp.command(`AUTH PLAIN ${b64(`\0alice\0guess-${c}-${i}`)}`);
        if (reply.startsWith('454')) {
          refused++;
          break;
        }
        if (reply.startsWith('535') || reply.startsWith('421')) checked++;
        if (reply.startsWith('421')) break;
      }
      smtp.close();
    }
    const last = await RawSmtp.connect(relay.ports.starttls, { localAddress: '127.0.0.20' });
    await last.command('EHLO guesser.example');
    await last.startTls();
    await last.command('EHLO guesser.example');
    const right = await last.command(`AUTH PLAIN ${b64(`\0alice\0${PASSWORD}`)}`);
    last.close();
    process.stdout.write(
      `password guessing: ${checked} passwords checked from one address before 454; the right one then: ${right.slice(0, 9)}\n`,
    );
    expect(checked).toBe(20);
    expect(right).toMatch(/^454 4\.7\.0 /);
  }, 120_000);
});
