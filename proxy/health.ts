import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { normaliseAddress } from '../shared/address.ts';
import type { Logger } from '../shared/log.ts';
import type { OppositionList } from '../shared/stores/opposition-list.ts';

/**
 * The relay's health, for the load balancer: `GET /healthz` answers 200 only when the relay can
 * serve, that is, read the opposition list (it fails closed without it), else 503 with why. An
 * open SMTP port proves nothing of the sort, and the balancer's TCP probes on it cluttered the
 * logs; they go here instead, and nothing is logged for them.
 */
const PROBE = normaliseAddress('health-check@fairsend.invalid')!;

export async function startHealthServer(
  port: number,
  oppositions: OppositionList,
  log: Logger,
  timeoutMs = 2000,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/healthz') {
      res.writeHead(404).end();
      return;
    }
    const check = oppositions.findBlocking('health-check', [PROBE], { coversSubaddresses: false });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs).unref(),
    );
    Promise.race([check, timeout]).then(
      () => {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      },
      (err: Error) => {
        log.warn('relay.unhealthy', { reason: err.message });
        res.writeHead(503, { 'content-type': 'text/plain' }).end(`opposition list unreadable: ${err.message}\n`);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(port, '0.0.0.0', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
