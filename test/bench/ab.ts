/**
 * `npm run bench:ab -- <git revision> [recipients] [connections] [seconds] [rounds]` (default
 * 1 1 8 6): the relay of that revision against the relay of the working tree, side by side under
 * the same load at the same time, and prints the working tree's CPU per copy as a ratio to the
 * revision's.
 *
 * Why side by side: this machine's speed moves by ±20 % within minutes, and relays measured in
 * turns (one after the other) gave anything from 0.54× to 1.30× a round for one change. Loaded at
 * the same time, both see the same machine. The order need not be neutral: with only the relay
 * started first primed, it came out 6–11 % cheaper (a relay against a copy of itself: 1.08×);
 * primed alike, as here, the order's share measured 1.00–1.02×. So the comparison runs twice,
 * each relay first once, and the ratio is the geometric mean of the two orders' ratios, in which
 * the order's share cancels: √((new/old, new second) ÷ (old/new, old second)).
 *
 * Both relays are built as the benchmark builds the relay (an esbuild bundle run with the image's
 * node flags and environment, `test/bench/bundle.ts`), the revision's from `git archive` of it,
 * and both run on the working tree's node_modules. DynamoDB is the stand-in in a process of its
 * own and SES the stand-in in this process, answering at once, as in `npm run bench`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SesStandIn } from '../../infra/local/ses-stand-in.ts';
import type { FairsendConfig } from '../../shared/config.ts';
import { startRelayChild } from '../helpers/relay-child.ts';
import { testCertificate } from '../helpers/stack.ts';
import { benchConfig, startDynamoProcess } from './backends.ts';
import { bundled, bundleTo, shippedEnv, shippedNodeFlags } from './bundle.ts';
import { primeContacts, runLoad } from './client.ts';
import { procSeconds } from './cpu.ts';
import { message20k } from './messages.ts';
import { median } from './peer-bench.ts';

const USAGE = `usage: npm run bench:ab -- <git revision> [recipients] [connections] [seconds] [rounds]
  compares the relay of the working tree with the relay of <git revision> (a commit, tag or branch),
  side by side under the same load, each order once; defaults 1 1 8 6 (a few minutes)
`;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const [revision, ...numbers] = process.argv.slice(2);
const [recipients = 1, connections = 1, seconds = 8, rounds = 6] = numbers.map(Number);
const usage = (why: string): never => {
  process.stderr.write(`${why}\n${USAGE}`);
  process.exit(2);
};
if (!revision || revision.startsWith('-')) usage('a git revision to compare with is required');
if (numbers.length > 4 || ![recipients, connections, seconds, rounds].every((n) => Number.isInteger(n) && n > 0))
  usage(`recipients, connections, seconds and rounds are whole numbers above 0: ${numbers.join(' ')}`);

let commit = '';
try {
  commit = execFileSync('git', ['rev-parse', '--verify', `${revision}^{commit}`], { cwd: ROOT, stdio: 'pipe' })
    .toString()
    .trim();
} catch {
  usage(`not a commit in this repository: ${revision}`);
}

/** The revision's relay as a bundle next to the benchmark's, so that it loads the same node_modules. */
async function revisionBundle(): Promise<string> {
  const source = join(ROOT, '.data', 'bench', `ab-${commit.slice(0, 12)}`);
  rmSync(source, { recursive: true, force: true });
  mkdirSync(source, { recursive: true });
  const archive = execFileSync('git', ['archive', commit], { cwd: ROOT, maxBuffer: 512 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', source], { input: archive });
  const outfile = join(ROOT, '.data', 'bench', `relay-process-${commit.slice(0, 12)}.mjs`);
  await bundleTo(join(source, 'test/helpers/relay-process.ts'), outfile);
  rmSync(source, { recursive: true, force: true });
  return outfile;
}

const log = (line: string) => process.stdout.write(`${line}\n`);
log(`building the relays of ${commit.slice(0, 12)} (${revision}) and of the working tree...`);
const scripts = { old: await revisionBundle(), new: await bundled('test/helpers/relay-process.ts') };
const tls = await testCertificate();
const body = await message20k();

/** CPU ms per copy of each relay over `rounds` rounds side by side, with `first` started, primed and loaded first. */
async function sideBySide(config: FairsendConfig, first: 'old' | 'new'): Promise<{ old: number[]; new: number[] }> {
  const order = first === 'old' ? (['old', 'new'] as const) : (['new', 'old'] as const);
  const relays = [];
  for (const which of order)
    relays.push(
      await startRelayChild(config, tls, { script: scripts[which], nodeFlags: shippedNodeFlags(), env: shippedEnv() }),
    );
  // Each relay its own messages: the two share one DynamoDB, where the same bytes from the same
  // user (both loads' first message of a round, made in the same millisecond) would be one
  // message, its second sending an idempotent retry.
  const load = (which: 'old' | 'new', port: number, secs: number) =>
    runLoad({
      target: { name: 'relay', port, secure: true },
      connections,
      pooled: true,
      recipients,
      seconds: secs,
      maxMessages: 1_000_000,
      body: (n) => `X-Bench-Relay: ${which}\r\n${body(n)}`,
    });
  try {
    // Every address a known contact (the benchmark's steady state), then unmeasured load for at
    // least 30 s: V8 optimizes a fresh relay for 20–30 s of load (test/bench/peer-bench.ts).
    for (const relay of relays) await primeContacts({ name: 'relay', port: relay.ports.starttls, secure: true }, body);
    await Promise.all(relays.map((relay, i) => load(order[i]!, relay.ports.starttls, Math.max(seconds, 30))));
    const perCopy: { old: number[]; new: number[] } = { old: [], new: [] };
    for (let round = 1; round <= rounds; round++) {
      const before = relays.map((relay) => procSeconds(relay.pid));
      const results = await Promise.all(relays.map((relay, i) => load(order[i]!, relay.ports.starttls, seconds)));
      const line: string[] = [];
      for (const [i, which] of order.entries()) {
        const result = results[i]!;
        if (result.errors) throw new Error(`the ${which} relay: ${result.errors} errors (${result.firstError})`);
        const ms = ((procSeconds(relays[i]!.pid) - before[i]!) * 1000) / Math.max(1, result.messages * recipients);
        perCopy[which].push(ms);
        line.push(`${which} ${(result.messages / result.seconds).toFixed(1)} msg/s ${ms.toFixed(3)} ms/copy`);
      }
      log(`  ${first} first, round ${round}/${rounds}: ${line.join(' | ')}`);
    }
    return perCopy;
  } finally {
    for (const relay of relays) await relay.kill();
  }
}

const dynamo = await startDynamoProcess();
const ses = new SesStandIn(undefined, { keepMessages: false, region: 'eu-west-3' });
try {
  const config = await benchConfig(dynamo.port, (await ses.listen()).port);
  const ratios = (a: number[], b: number[]) => a.map((x, i) => x / b[i]!);
  log(`${recipients} rcpt × ${connections} conns, ${rounds} rounds of ${seconds} s in each order:`);
  const oldFirst = await sideBySide(config, 'old');
  const newFirst = await sideBySide(config, 'new');
  // new/old with new second, and old/new with old second: each carries the order's share once.
  const newSecond = median(ratios(oldFirst.new, oldFirst.old));
  const oldSecond = median(ratios(newFirst.old, newFirst.new));
  const ratio = Math.sqrt(newSecond / oldSecond);
  const order = Math.sqrt(newSecond * oldSecond);
  log(
    `working tree / ${commit.slice(0, 12)}: ${ratio.toFixed(3)}× the CPU per copy ` +
      `(new/old with new second ${newSecond.toFixed(3)}, old/new with old second ${oldSecond.toFixed(3)}; ` +
      `the order's own share ${order.toFixed(3)}×)`,
  );
} finally {
  dynamo.proc.kill();
  await ses.close();
}
process.exit(0);
