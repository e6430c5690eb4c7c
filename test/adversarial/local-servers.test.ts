import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { startTestStack } from '../helpers/stack.ts';
import { sendAndGetToken } from '../helpers/unsubscribe-token.ts';

/**
 * A web page in the developer's browser must not drive the local servers: no answer to a
 * rebound host name, no cross-origin request that changes something.
 */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

function call(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: options.method ?? 'GET',
        headers: options.headers,
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the SES stand-in (outbox and test API)', () => {
  const ses = () => stack.config.ses.endpoint!;

  it('answers only to loopback host names (DNS rebinding)', async () => {
    expect((await call(ses(), '/', { headers: { host: 'attacker.example:8005' } })).status).toBe(421);
    expect((await call(ses(), '/api/messages', { headers: { host: 'rebind.attacker.example' } })).status).toBe(421);
    expect((await call(ses(), '/', { headers: { host: 'localhost:8005' } })).status).toBe(200);
  });

  it('refuses a cross-origin or form-encodable request that changes something', async () => {
    const json = { 'content-type': 'application/json' };
    expect(
      (
        await call(ses(), '/api/faults', {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: '{"kind":"drop"}',
        })
      ).status,
    ).toBe(415);
    expect(
      (
        await call(ses(), '/api/clear', {
          method: 'POST',
          headers: { ...json, origin: 'https://attacker.example' },
          body: '{}',
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await call(ses(), '/api/clear', {
          method: 'POST',
          headers: { ...json, 'sec-fetch-site': 'cross-site' },
          body: '{}',
        })
      ).status,
    ).toBe(403);
    expect((await call(ses(), '/api/clear', { method: 'POST', headers: json, body: '{}' })).status).toBe(200);
  });
});

describe('the local HTTP server', () => {
  const http = () => `http://127.0.0.1:${stack.http.port}`;

  it('refuses a rebound host name and a text/plain POST to the inbound-mail route', async () => {
    expect((await call(http(), '/healthz', { headers: { host: 'attacker.example' } })).status).toBe(421);
    const form = await call(http(), '/local/inbound-mail', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'Subject: unsubscribe x\r\n\r\n',
    });
    expect(form.status).toBe(415);
  });

  it('still takes an RFC 8058 one-click POST from anywhere: the token is the authorisation', async () => {
    const token = await sendAndGetToken(stack, 'oneclick@client.example');
    const res = await call(http(), `/u/${token}`, {
      method: 'POST',
      headers: {
        host: new URL(stack.config.http.publicBaseUrl).host,
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://mail.provider.example',
      },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(200);
  });
});
