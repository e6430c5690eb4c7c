/**
 * A local stand-in in a process of its own, for the benchmark: `--service dynamodb` (dynalite
 * behind the SigV4 check) or `--service ses` (keeping no messages). Its CPU is not the relay's,
 * as the service's is not in AWS, and its work runs beside the relay's instead of queued behind
 * the load generator. Prints `{"port": N}` when it listens. `--latency-ms N`: no answer sooner
 * than N ms after a request arrives (the service's round trip). `--report-served`: then a line
 * `{"served": {...}}` per request answered (`Served`: its operation, arrival and answer times).
 * `--tls-dir D`: HTTPS, as the services serve, with D's key.pem and cert.pem.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDynamoStandIn } from '../../infra/local/dynamodb-stand-in.ts';
import type { Served } from '../../infra/local/http-server.ts';
import { SesStandIn } from '../../infra/local/ses-stand-in.ts';

const { values } = parseArgs({
  options: {
    service: { type: 'string' },
    region: { type: 'string', default: 'eu-west-3' },
    'latency-ms': { type: 'string', default: '0' },
    'report-served': { type: 'boolean', default: false },
    'tls-dir': { type: 'string' },
  },
});
const latencyMs = Number(values['latency-ms']);
if (!['dynamodb', 'ses'].includes(values.service ?? '') || !Number.isFinite(latencyMs) || latencyMs < 0) {
  process.stderr.write(
    'usage: stand-in-process.ts --service dynamodb|ses [--region R] [--latency-ms N] [--report-served] [--tls-dir D]\n',
  );
  process.exit(2);
}
const onServed = values['report-served']
  ? (served: Served) => process.stdout.write(`${JSON.stringify({ served })}\n`)
  : undefined;
const tlsDir = values['tls-dir'];
let tls: { key: Buffer; cert: Buffer } | undefined;
if (tlsDir) {
  try {
    tls = { key: readFileSync(join(tlsDir, 'key.pem')), cert: readFileSync(join(tlsDir, 'cert.pem')) };
  } catch (err) {
    process.stderr.write(`--tls-dir ${tlsDir}: cannot read key.pem and cert.pem there (${(err as Error).message})\n`);
    process.exit(2);
  }
}
let port: number;
if (values.service === 'dynamodb') {
  port = (
    await startDynamoStandIn({
      region: values.region!,
      latencyMs,
      ...(onServed ? { onServed } : {}),
      ...(tls ? { tls } : {}),
    })
  ).port;
} else {
  const ses = new SesStandIn(undefined, { keepMessages: false, region: values.region!, ...(tls ? { tls } : {}) });
  ses.latencyMs = latencyMs;
  ses.onServed = onServed;
  port = (await ses.listen()).port;
}
process.stdout.write(`${JSON.stringify({ port })}\n`);
