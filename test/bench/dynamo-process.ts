/**
 * The DynamoDB stand-in (dynalite behind the SigV4 check) in a process of its own, for the
 * benchmark: its CPU is not the relay's, as DynamoDB's is not in AWS. Prints `{"port": N}` when
 * it listens. `--latency-ms N` adds N ms before each request (DynamoDB's round trip).
 */
import { parseArgs } from 'node:util';
import { startDynamoStandIn } from '../../infra/local/dynamodb-stand-in.ts';

const { values } = parseArgs({
  options: { region: { type: 'string', default: 'eu-west-3' }, 'latency-ms': { type: 'string', default: '0' } },
});
const latencyMs = Number(values['latency-ms']);
if (!Number.isFinite(latencyMs) || latencyMs < 0) {
  process.stderr.write('usage: dynamo-process.ts [--region R] [--latency-ms N]\n');
  process.exit(2);
}
const standIn = await startDynamoStandIn({ region: values.region!, latencyMs });
process.stdout.write(`${JSON.stringify({ port: standIn.port })}\n`);
