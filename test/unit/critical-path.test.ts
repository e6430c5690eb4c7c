import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Served } from '../../infra/local/http-server.ts';
import { SesStandIn } from '../../infra/local/ses-stand-in.ts';
import { LOCAL_AWS_CREDENTIALS } from '../../shared/aws/local-endpoint.ts';
import { createSigner } from '../../shared/aws/sigv4.ts';
import { criticalPath } from '../bench/critical-path.ts';

const at = (operation: string, arrivedAt: number, answeredAt: number) => ({ operation, arrivedAt, answeredAt });

describe('the benchmark: a message’s critical path through the stand-ins', () => {
  it('adds sequential round trips, counts only the longest of overlapping ones, and leaves out the gaps', () => {
    const served = [
      at('BatchGetItem', 990, 996), // an opposition check at RCPT, before the end of DATA: not in it
      at('BatchGetItem', 1001, 1007), // 6 ms
      at('SendEmail', 1008, 1058), // the copies, sent 1 ms apart: one phase, its longest 51 ms
      at('SendEmail', 1009, 1060),
      at('SendEmail', 1010, 1059),
      at('BatchWriteItem', 1062, 1070), // two batch writes at once: one phase, 8 ms
      at('BatchWriteItem', 1063, 1069),
      at('BatchGetItem', 1080, 1085), // the next message's: after the reply
    ];
    expect(criticalPath(served, { from: 1000, to: 1072 })).toEqual({ ms: 6 + 51 + 8, phases: 3 });
  });

  it('is 0 with no request in the window', () => {
    expect(criticalPath([at('SendEmail', 1, 2)], { from: 10, to: 20 })).toEqual({ ms: 0, phases: 0 });
  });
});

describe('the benchmark: a stand-in with an injected latency takes concurrent requests as they arrive', () => {
  it('stamps every SendEmail that came in together before working on any, as SES’s servers take them in parallel', async () => {
    const ses = new SesStandIn(undefined, { keepMessages: false, region: 'eu-west-3' });
    ses.latencyMs = 20;
    const served: Served[] = [];
    ses.onServed = (s) => served.push(s);
    // How many requests had arrived when each signature check began.
    const arrivedAtCheck: number[] = [];
    const verifier = (ses as unknown as { verifier: { verify: (...args: unknown[]) => unknown } }).verifier;
    const verify = verifier.verify.bind(verifier);
    verifier.verify = (...args) => {
      arrivedAtCheck.push(ses.requests);
      return verify(...args);
    };
    const { port } = await ses.listen();
    const signer = createSigner({ credentials: LOCAL_AWS_CREDENTIALS, region: 'eu-west-3', service: 'ses' });
    const requests = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const body = JSON.stringify({
          Content: {
            Raw: { Data: Buffer.from(`To: r${i}@client.example\r\n\r\n${'x'.repeat(20_000)}\r\n`).toString('base64') },
          },
          Destination: { ToAddresses: [`r${i}@client.example`] },
          FromEmailAddress: 'alice@acme.example',
        });
        const { headers } = await signer.sign({
          method: 'POST',
          hostname: '127.0.0.1',
          path: '/v2/email/outbound-emails',
          headers: {
            host: `127.0.0.1:${port}`,
            'content-type': 'application/json',
            'content-length': String(body.length),
          },
          body,
        });
        const head = Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('');
        return `POST /v2/email/outbound-emails HTTP/1.1\r\n${head}connection: close\r\n\r\n${body}`;
      }),
    );
    const sockets = await Promise.all(
      requests.map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
          }),
      ),
    );
    const answers = sockets.map(
      (socket) =>
        new Promise<string>((resolve) => {
          let text = '';
          socket.on('data', (chunk) => (text += chunk.toString()));
          socket.on('close', () => resolve(text));
        }),
    );
    // Connections the stand-in has taken (as the relay's kept-alive ones are), then all ten
    // requests written, and in its sockets' buffers, before its event loop sees any.
    const accepted = (ses as unknown as { sockets: Set<net.Socket> }).sockets;
    while (accepted.size < sockets.length) await new Promise((r) => setTimeout(r, 5));
    for (const [i, socket] of sockets.entries()) socket.write(requests[i]!);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    try {
      for (const answer of await Promise.all(answers)) expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      expect(arrivedAtCheck).toEqual(Array(10).fill(10));
      expect(served).toHaveLength(10);
    } finally {
      await ses.close();
    }
  });
});
