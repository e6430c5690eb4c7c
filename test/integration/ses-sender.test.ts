import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SesV2Sender } from '../../proxy/ses-sender.ts';
import { SesTemporaryError } from '../../shared/errors.ts';
import { testConfig } from '../helpers/config.ts';

/**
 * The streamed SendEmail path against an SES that accepts connections and never answers: every
 * copy must fail as temporary (the client gets 451) in bounded time, also the copies waiting for
 * one of the sender's 50 connections.
 */
let server: http.Server;
let endpoint: string;
let requests = 0;
let open = 0;
let mostOpen = 0;
beforeAll(async () => {
  server = http.createServer((req) => {
    requests++;
    req.resume(); // reads the copy, never answers
  });
  server.on('connection', (socket) => {
    mostOpen = Math.max(mostOpen, ++open);
    socket.on('close', () => open--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('the streamed SendEmail path against a hung SES', () => {
  it('fails 300 copies at once as temporary in bounded time, the queued ones included', async () => {
    const config = await testConfig((raw) => {
      raw.ses.requestTimeoutMs = 300;
      raw.ses.retryDeadlineMs = 300;
    });
    const sender = new SesV2Sender({ ...config.ses, endpoint });
    const started = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        sender
          .send({
            recipient: `r${i}@client.example`,
            from: 'alice@acme.example',
            parts: [Buffer.from('Subject: x\r\n\r\nHello\r\n')],
            tags: { controller: 'acme' },
          })
          .then(
            () => 'sent',
            (err: unknown) => (err instanceof SesTemporaryError ? 'temporary' : String(err)),
          ),
      ),
    );
    sender.destroy();
    expect(new Set(outcomes)).toEqual(new Set(['temporary']));
    // At most 50 connections to SES at once; the copies that waited for one timed out waiting.
    expect(requests).toBeGreaterThan(0);
    expect(mostOpen).toBeLessThanOrEqual(50);
    // One 300 ms attempt each (the deadline leaves no time for another), queue included: not six
    // waves of 50 connections one after the other (1.8 s).
    expect(Date.now() - started).toBeLessThan(1200);
  });
});
