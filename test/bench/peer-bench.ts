import { performance } from 'node:perf_hooks';
import type { RelayChild } from '../helpers/relay-child.ts';
import { percentile, primeContacts, type RunResult, runLoad, type Target } from './client.ts';
import type { CpuMeter } from './cpu.ts';
import type { PostfixRelay } from './postfix-relay.ts';

/**
 * Fairsend against the system a company would run instead, Postfix relaying to SES, in the same
 * run, same client, same message: for each shape (recipients × pooled connections), runs of
 * `seconds` each, alternating the two (and the I/O floor, when given: the same AWS round trips
 * as Fairsend with none of its own work). Fairsend delivers before it answers 250; Postfix queues, so
 * its copies are counted once its queue is empty and its CPU until then.
 */
export interface PeerFigures {
  accepted: number;
  /** Messages accepted per second of load. */
  msgPerSecond: number;
  /** Copies handed to SES (Fairsend) or to the relayhost (Postfix) per second, until all were. */
  copiesPerSecond: number;
  /** CPU milliseconds of the relay (every process of it) per copy delivered. */
  cpuMsPerCopy: number;
  dynamoPerCopy?: number;
  p50: number;
  p99: number;
}

export interface PeerRow {
  recipients: number;
  connections: number;
  fairsend: PeerFigures[];
  postfix: PeerFigures[];
  /** The I/O floor (test/bench/io-floor-server.ts): the same AWS round trips and nothing else. */
  floor: PeerFigures[];
  /** CPU ms per copy of each unmeasured warming run, in order. */
  warming: { fairsend: number[]; floor: number[] };
}

/** A server measured beside the two: its SMTP port and the CPU of its process. */
export interface MeasuredServer {
  port: number;
  cpu: CpuMeter;
}

export async function runPeerBench(options: {
  relay: RelayChild;
  relayCpu: CpuMeter;
  postfix: PostfixRelay;
  floor?: MeasuredServer;
  shapes: [recipients: number, connections: number][];
  runs: number;
  seconds: number;
  /** Unmeasured runs of each shape on Fairsend and the floor before the measured ones (V8's warm-up). */
  warmRuns: number;
  body: (n: number) => string;
  log: (line: string) => void;
}): Promise<PeerRow[]> {
  const { relay, relayCpu, postfix, log } = options;
  const fairsendTarget: Target = { name: 'Fairsend', port: relay.ports.starttls, secure: true };
  const postfixTarget: Target = { name: 'Postfix', port: postfix.port, secure: true };
  const floorTarget: Target = { name: 'I/O floor', port: options.floor?.port ?? 0, secure: true };
  const load = (target: Target, recipients: number, connections: number) =>
    runLoad({
      target,
      connections,
      pooled: true,
      recipients,
      seconds: options.seconds,
      maxMessages: 1_000_000,
      body: options.body,
    });
  /** CPU milliseconds per copy, from the CPU seconds a load took. */
  const msPerCopy = (cpuSeconds: number, copies: number) => (cpuSeconds * 1000) / Math.max(1, copies);
  const figures = (result: RunResult, copies: number, seconds: number, cpu: number): PeerFigures => ({
    accepted: result.messages,
    msgPerSecond: result.messages / result.seconds,
    copiesPerSecond: copies / seconds,
    cpuMsPerCopy: msPerCopy(cpu, copies),
    p50: percentile(result.latencies, 50),
    p99: percentile(result.latencies, 99),
  });

  // Every address the load uses is a known contact before the runs: the steady state, where a
  // copy costs no first-contact claim.
  log('  priming: every recipient address becomes a known contact...');
  await primeContacts(fairsendTarget, options.body);

  const rows: PeerRow[] = [];
  for (const [recipients, connections] of options.shapes) {
    const row: PeerRow = {
      recipients,
      connections,
      fairsend: [],
      postfix: [],
      floor: [],
      warming: { fairsend: [], floor: [] },
    };
    // Each shape's load, unmeasured, on Fairsend and the floor, `warmRuns` times: node processes
    // that V8 has not yet optimized for the load cost more, and for longer than one run. Traced on
    // a fresh relay at 1 × 1 (5 s windows, about 700 messages each), TurboFan completed 176, 114,
    // 36, 24, 16, 8 optimizations a window and a handful after 30 s; the relay's CPU per copy fell
    // from 4.6 to 3.7 ms over the first 20 s and the floor's from 4.8 to 2.6 ms. After one 10 s
    // run, the measured runs still paid for that compiling (BENCH.md had the floor at 1.04×
    // Postfix at 1 × 1; after three, 0.67–0.77× in three runs of four, the fourth on a noisy
    // machine 1.02×). A relay in service has long been warm. Postfix, compiled C, needs no
    // warming. Each warming run's CPU per copy is printed: where it stops falling, the process is
    // warm.
    for (let w = 1; w <= options.warmRuns; w++) {
      const cpu0 = relayCpu.seconds();
      const f = await load(fairsendTarget, recipients, connections);
      row.warming.fairsend.push(msPerCopy(relayCpu.seconds() - cpu0, f.messages * recipients));
      if (options.floor) {
        const floor0 = options.floor.cpu.seconds();
        const fl = await load(floorTarget, recipients, connections);
        row.warming.floor.push(msPerCopy(options.floor.cpu.seconds() - floor0, fl.messages * recipients));
      }
      log(
        `  ${recipients} rcpt × ${connections} conns: warming up ${w}/${options.warmRuns} (unmeasured, ${options.seconds} s each): Fairsend ${row.warming.fairsend.at(-1)!.toFixed(2)}${options.floor ? `, I/O floor ${row.warming.floor.at(-1)!.toFixed(2)}` : ''} ms CPU/copy`,
      );
    }
    for (let i = 0; i < options.runs; i++) {
      const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
      const statsBefore = await relay.stats();
      const cpuBefore = relayCpu.seconds();
      const f = await load(fairsendTarget, recipients, connections);
      const cpuF = relayCpu.seconds() - cpuBefore;
      const statsAfter = await relay.stats();
      const copiesF = f.messages * recipients;
      row.fairsend.push({
        ...figures(f, copiesF, f.seconds, cpuF),
        dynamoPerCopy: (sum(statsAfter.dynamo.requests) - sum(statsBefore.dynamo.requests)) / Math.max(1, copiesF),
      });

      const deliveredBefore = postfix.delivered();
      const pfBefore = postfix.cpu.seconds();
      const t0 = performance.now();
      const p = await load(postfixTarget, recipients, connections);
      const drained = await postfix.drained();
      const seconds = (performance.now() - t0) / 1000;
      const cpuP = postfix.cpu.seconds() - pfBefore;
      const copiesP = postfix.delivered() - deliveredBefore;
      if (!drained) log(`  Postfix's queue still holds ${postfix.queued()} messages after 2 minutes`);
      row.postfix.push(figures(p, copiesP, seconds, cpuP));

      if (options.floor) {
        const floorBefore = options.floor.cpu.seconds();
        const fl = await load(floorTarget, recipients, connections);
        const copiesFl = fl.messages * recipients;
        row.floor.push(figures(fl, copiesFl, fl.seconds, options.floor.cpu.seconds() - floorBefore));
        if (fl.errors) log(`  I/O floor: ${fl.errors} errors (${fl.firstError})`);
      }
      const last = (x: PeerFigures) =>
        `${x.msgPerSecond.toFixed(1)} msg/s, ${x.cpuMsPerCopy.toFixed(2)} ms CPU/copy, p50 ${x.p50.toFixed(1)} ms`;
      log(
        `  ${recipients} rcpt × ${connections} conns, run ${i + 1}: Fairsend ${last(row.fairsend.at(-1)!)}, ${row.fairsend.at(-1)!.dynamoPerCopy!.toFixed(2)} DynamoDB req/copy${f.errors ? ` (${f.errors} errors: ${f.firstError})` : ''} | Postfix ${last(row.postfix.at(-1)!)}, ${copiesP}/${p.messages * recipients} copies delivered${p.errors ? ` (${p.errors} errors: ${p.firstError})` : ''}${row.floor.length > 0 ? ` | I/O floor ${last(row.floor.at(-1)!)}` : ''}`,
      );
    }
    rows.push(row);
  }
  return rows;
}

/** The median of one figure over a row's runs. */
export function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
