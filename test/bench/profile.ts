/**
 * `npm run bench:profile -- [recipients] [connections] [seconds]` (default 1 1 10): a CPU profile
 * of the relay under the benchmark's load (pooled connections, the 20 KB message, known contacts),
 * written to .data/profiles/; prints where the relay's CPU went, by package and by function.
 * Open the .cpuprofile in Chrome DevTools (Performance) for the call tree. The relay runs through
 * tsx here, so that every function keeps its file's name (the benchmark runs the esbuild bundle);
 * tsx's `__name` wrappers add 1–2 % of their own.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SesStandIn } from '../../infra/local/ses-stand-in.ts';
import { startRelayChild } from '../helpers/relay-child.ts';
import { testCertificate } from '../helpers/stack.ts';
import { benchConfig, startDynamoProcess } from './backends.ts';
import { shippedEnv, shippedNodeFlags } from './bundle.ts';
import { primeContacts, runLoad } from './client.ts';
import { message20k } from './messages.ts';

const [recipients = 1, connections = 1, seconds = 10] = process.argv.slice(2).map(Number);
if (![recipients, connections, seconds].every((n) => Number.isInteger(n) && n > 0)) {
  process.stderr.write('usage: npm run bench:profile -- [recipients] [connections] [seconds]\n');
  process.exit(2);
}
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(ROOT, '.data', 'profiles');
mkdirSync(dir, { recursive: true });

const dynamo = await startDynamoProcess();
const ses = new SesStandIn(undefined, { keepMessages: false, region: 'eu-west-3' });
const config = await benchConfig(dynamo.port, (await ses.listen()).port);
const tls = await testCertificate();
const body = await message20k();
const target = { name: 'Fairsend', port: 0, secure: true };
// Every address a known contact first, through a relay that is not profiled (its priming messages
// of 100 recipients each would otherwise weigh in the profile), then the measured load on a
// profiled one. The contacts live in the DynamoDB stand-in, which both relays share.
const primer = await startRelayChild(config, tls);
await primeContacts({ ...target, port: primer.ports.starttls }, body);
await primer.exit();
// With the Docker image's node flags and environment (its young-generation size changes what GC costs).
const relay = await startRelayChild(config, tls, {
  nodeFlags: [...shippedNodeFlags(), '--cpu-prof', `--cpu-prof-dir=${dir}`],
  env: shippedEnv(),
});
target.port = relay.ports.starttls;
const before = new Set(readdirSync(dir));
const result = await runLoad({ target, connections, pooled: true, recipients, seconds, maxMessages: 1_000_000, body });
await relay.exit();
dynamo.proc.kill();
await ses.close();
// tsx's loader thread writes a profile of its own: the relay's main thread is the larger one.
const file = readdirSync(dir)
  .filter((f) => !before.has(f) && f.endsWith('.cpuprofile'))
  .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
if (!file) throw new Error('the relay wrote no profile');
process.stdout.write(
  `${result.messages} messages × ${recipients} recipients over ${connections} connections; profile: ${join(dir, file)}\n`,
);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
};
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
for (const [i, id] of profile.samples.entries()) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
const total = [...self.entries()]
  .filter(([id]) => byId.get(id)!.callFrame.functionName !== '(idle)')
  .reduce((a, [, t]) => a + t, 0);
const area = (url: string, name: string) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.includes('/work/') || url.startsWith('file://')) return url.includes('node_modules') ? 'deps' : 'fairsend';
  if (url.startsWith('node:')) return url.split('/')[0]!;
  return name.startsWith('(') ? name : 'node internals';
};
const sum = (key: (n: Node) => string) => {
  const out = new Map<string, number>();
  for (const [id, t] of self) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') continue;
    out.set(key(node), (out.get(key(node)) ?? 0) + t);
  }
  return [...out.entries()].sort((a, b) => b[1] - a[1]);
};
const copies = result.messages * recipients;
process.stdout.write(
  `relay CPU sampled: ${(total / 1000).toFixed(0)} ms = ${(total / 1000 / copies).toFixed(2)} ms per copy\n\nby package (self time):\n`,
);
for (const [k, t] of sum((n) => area(n.callFrame.url, n.callFrame.functionName)).slice(0, 15))
  process.stdout.write(`  ${((100 * t) / total).toFixed(1).padStart(5)} %  ${k}\n`);
process.stdout.write('\nby function (self time):\n');
for (const [k, t] of sum(
  (n) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`,
).slice(0, 25))
  process.stdout.write(`  ${((100 * t) / total).toFixed(1).padStart(5)} %  ${k}\n`);
process.exit(0);
