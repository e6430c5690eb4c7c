/**
 * `npm run bench:profile -- [recipients] [connections] [seconds] [warm seconds]` (default
 * 1 1 10 30): a CPU profile of the relay under the benchmark's load (pooled connections, the 20 KB
 * message, known contacts), written to .data/profiles/; prints where the relay's CPU went, by
 * package and by function. Open the .cpuprofile in Chrome DevTools (Performance) for the call
 * tree. The relay is loaded unprofiled for the warm seconds first, then profiled for the measured
 * window only (the inspector's profiler, started and stopped over IPC): a fresh relay runs its
 * first 20–30 s of load in code V8 has not yet optimized (test/bench/peer-bench.ts), which a
 * profile from the start would mix in. The relay runs through tsx here, so that every function
 * keeps its file's name (the benchmark runs the esbuild bundle); tsx's `__name` wrappers add 1–2 %
 * of their own.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SesStandIn } from '../../infra/local/ses-stand-in.ts';
import { startRelayChild } from '../helpers/relay-child.ts';
import { testCertificate } from '../helpers/stack.ts';
import { benchConfig, startDynamoProcess } from './backends.ts';
import { shippedEnv, shippedNodeFlags } from './bundle.ts';
import { primeContacts, runLoad } from './client.ts';
import { message20k } from './messages.ts';

const args = process.argv.slice(2);
const [recipients = 1, connections = 1, seconds = 10, warmSeconds = 30] = args.map(Number);
if (
  args.length > 4 ||
  ![recipients, connections, seconds].every((n) => Number.isInteger(n) && n > 0) ||
  !(Number.isInteger(warmSeconds) && warmSeconds >= 0)
) {
  process.stderr.write(
    'usage: npm run bench:profile -- [recipients] [connections] [seconds] [warm seconds]\n' +
      '  whole numbers; defaults 1 1 10 30 (warm seconds may be 0)\n',
  );
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
// With the Docker image's node flags and environment (its young-generation size changes what GC
// costs). Every address a known contact first (the benchmark's steady state), unprofiled.
const relay = await startRelayChild(config, tls, { nodeFlags: shippedNodeFlags(), env: shippedEnv() });
target.port = relay.ports.starttls;
await primeContacts(target, body);
const load = (secs: number) =>
  runLoad({ target, connections, pooled: true, recipients, seconds: secs, maxMessages: 1_000_000, body });
if (warmSeconds > 0) {
  process.stdout.write(`warming the relay up for ${warmSeconds} s (unprofiled)...\n`);
  await load(warmSeconds);
}
const file = join(
  dir,
  `relay-${recipients}x${connections}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`,
);
await relay.startProfile();
const result = await load(seconds);
await relay.stopProfile(file);
await relay.kill();
dynamo.proc.kill();
await ses.close();
process.stdout.write(
  `${result.messages} messages × ${recipients} recipients over ${connections} connections; profile: ${file}\n`,
);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
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
