/**
 * The SES stand-in in a process of its own, for the benchmark's latency section: its work (reading,
 * verifying and decoding each request) then runs beside the relay's, as SES's does, instead of
 * queueing behind the load generator. Prints `{"port": N}` when it listens. `--latency-ms N`: no
 * answer sooner than N ms after a request arrives. Keeps no messages.
 */
import { parseArgs } from 'node:util';
import { SesStandIn } from '../../infra/local/ses-stand-in.ts';

const { values } = parseArgs({
  options: { region: { type: 'string', default: 'eu-west-3' }, 'latency-ms': { type: 'string', default: '0' } },
});
const latencyMs = Number(values['latency-ms']);
if (!Number.isFinite(latencyMs) || latencyMs < 0) {
  process.stderr.write('usage: ses-process.ts [--region R] [--latency-ms N]\n');
  process.exit(2);
}
const ses = new SesStandIn(undefined, { keepMessages: false, region: values.region! });
ses.latencyMs = latencyMs;
const { port } = await ses.listen();
process.stdout.write(`${JSON.stringify({ port })}\n`);
