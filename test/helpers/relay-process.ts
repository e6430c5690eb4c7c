/**
 * The relay in a process of its own, for the benchmark and the crash tests: it runs the local
 * stack against DynamoDB and SES served by the parent, so its memory is the relay's alone and it
 * can be killed and restarted. Speaks to the parent over IPC: 'ready' with the ports, 'stats'
 * (RSS, peak RSS, DynamoDB usage, the longest the event loop was held) on request, and a CPU
 * profile of its main thread between 'profile-start' and 'profile-stop' (written to the file
 * given, for `npm run bench:profile`: a window of a warm relay, where `--cpu-prof` profiles from
 * the start).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startLocalStack } from '../../infra/local/stack.ts';
import { parseConfig } from '../../shared/config.ts';
import { silentLogger } from '../../shared/log.ts';

const config = parseConfig(JSON.parse(process.env.FAIRSEND_PROCESS_CONFIG ?? '{}'), 'relay process config');
const tls = { key: readFileSync(process.env.FAIRSEND_TLS_KEY!), cert: readFileSync(process.env.FAIRSEND_TLS_CERT!) };
const stack = await startLocalStack({ config, tls, dynamodb: 'external', ses: 'external', log: silentLogger });

/**
 * With FAIRSEND_WATCH_LOOP=1 (the benchmark's memory cases): how long the event loop was held, as
 * `monitorEventLoopDelay` sees it, its timer every `LOOP_RESOLUTION_MS`. Off otherwise: its 100
 * wake-ups a second would be CPU the peer comparison counted.
 */
const LOOP_RESOLUTION_MS = 10;
const loopDelay =
  process.env.FAIRSEND_WATCH_LOOP === '1' ? monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS }) : undefined;
loopDelay?.enable();

/** A field of /proc/self/status, in bytes (VmHWM: the peak RSS; RssAnon, RssFile: what RSS is made of). */
function statusBytes(status: string, field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
}

let profiler: Session | undefined;
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) =>
    profiler!.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
  );

process.on('message', async (message: { type: string; file?: string }) => {
  if (message.type === 'stats') {
    const status = readFileSync('/proc/self/status', 'utf8');
    const memory = process.memoryUsage();
    process.send!({
      type: 'stats',
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      peakRss: statusBytes(status, 'VmHWM'),
      rssAnon: statusBytes(status, 'RssAnon'),
      rssFile: statusBytes(status, 'RssFile'),
      // The longest turn since the last stats: the timer's longest interval less its own period.
      ...(loopDelay ? { loopHeldMs: Math.max(0, loopDelay.max / 1e6 - LOOP_RESOLUTION_MS) } : {}),
      dynamo: {
        requests: stack.dynamoUsage.requests,
        readUnits: stack.dynamoUsage.readUnits,
        writeUnits: stack.dynamoUsage.writeUnits,
      },
    });
    loopDelay?.reset();
  } else if (message.type === 'exit') {
    // A clean exit, so that --cpu-prof and --heap-prof write their files.
    process.exit(0);
  } else if (message.type === 'profile-start' || message.type === 'profile-stop') {
    // A failure (a stop with no profile started, a file that cannot be written) goes back to the
    // parent as an error, not up as an unhandled rejection that would end the relay.
    try {
      if (message.type === 'profile-start') {
        if (profiler) throw new Error('a profile is already running');
        profiler = new Session();
        profiler.connect();
        await post('Profiler.enable');
        await post('Profiler.start');
      } else {
        if (!profiler) throw new Error('no profile is running');
        const { profile } = (await post('Profiler.stop')) as { profile: unknown };
        profiler.disconnect();
        profiler = undefined;
        writeFileSync(message.file!, JSON.stringify(profile));
      }
      process.send!({ type: message.type });
    } catch (err) {
      process.send!({ type: message.type, error: (err as Error).message });
    }
  } else if (message.type === 'gc') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send!({ type: 'gc' });
  }
});
process.send!({
  type: 'ready',
  starttls: stack.smtp.starttls.port,
  implicitTls: stack.smtp.implicitTls.port,
  http: stack.http.port,
});
