import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { proxyV2Header } from '../../proxy/proxy-protocol.ts';
import { testConfig } from '../helpers/config.ts';
import { RawSmtp } from '../helpers/smtp.ts';
import { startTestStack, testCertificate } from '../helpers/stack.ts';

/**
 * Behind the load balancer, every connection comes from the balancer's address: without PROXY
 * protocol v2 the relay's per-client limits would lump all clients together. Here loopback plays
 * the balancer (a trusted network) and each connection's header names another client.
 */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({
    config: await testConfig((raw) => {
      raw.smtp.proxyProtocol = { trustedCidrs: ['127.0.0.0/8'] };
      raw.smtp.maxConnectionsPerIp = 2;
      raw.smtp.loginThrottle = { maxFailuresPerIp: 2, maxFailuresPerUser: 100, baseDelayMs: 0, maxDelayMs: 0 };
    }),
  });
});
afterAll(async () => {
  await stack?.stop();
});

const as = (client: string) => ({ preamble: proxyV2Header(client, 40000) });

describe('PROXY protocol v2 from the load balancer', () => {
  it('counts connections per client address from the header, not per balancer', async () => {
    const port = stack.smtp.starttls.port;
    const a1 = await RawSmtp.connect(port, as('203.0.113.7'));
    const a2 = await RawSmtp.connect(port, as('203.0.113.7'));
    const a3 = await RawSmtp.connect(port, as('203.0.113.7'));
    const b1 = await RawSmtp.connect(port, as('198.51.100.9'));
    expect([a1.greeting, a2.greeting].every((g) => g.startsWith('220 '))).toBe(true);
    expect(a3.greeting).toMatch(/^421 4\.7\.0 too many connections from your address \(at most 2\)/);
    expect(b1.greeting).toMatch(/^220 /);
    for (const c of [a1, a2, b1]) await c.command('QUIT');
  });

  it('throttles failed logins per client address from the header', async () => {
    const port = stack.smtp.starttls.port;
    const fail = async (client: string) => {
      const smtp = await RawSmtp.connect(port, as(client));
      await smtp.command('EHLO client.example');
      await smtp.startTls();
      await smtp.command('EHLO client.example');
      const reply = await smtp.command(`AUTH PLAIN ${Buffer.from('\0alice\0wrong password').toString('base64')}`);
      await smtp.command('QUIT').catch(() => undefined);
      return reply;
    };
    expect(await fail('192.0.2.50')).toMatch(/^535 /);
    expect(await fail('192.0.2.50')).toMatch(/^535 /);
    expect(await fail('192.0.2.50')).toMatch(/^454 4\.7\.0 /);
    expect(await fail('192.0.2.51')).toMatch(/^535 /);
  });

  it('reads the header before the TLS handshake on the implicit-TLS port', async () => {
    const { cert } = await testCertificate();
    const raw = net.connect({ port: stack.smtp.implicitTls.port, host: '127.0.0.1' });
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(proxyV2Header('203.0.113.99', 40001));
    const secure = tls.connect({ socket: raw, ca: cert, servername: 'localhost' });
    const greeting = await new Promise<string>((resolve, reject) => {
      secure.once('data', (d: Buffer) => resolve(d.toString()));
      secure.once('error', reject);
    });
    expect(greeting).toMatch(/^220 /);
    secure.destroy();
  });

  it('closes a connection from the balancer that does not start with a v2 header', async () => {
    const socket = net.connect({ port: stack.smtp.starttls.port, host: '127.0.0.1' });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('EHLO pretending.example\r\n');
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Buffer.concat(received).toString()).toBe('');
  });
});
