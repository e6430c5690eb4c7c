import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FairsendConfig } from '../../shared/config.ts';

export interface RelayStats {
  rss: number;
  heapUsed: number;
  peakRss: number;
  /** RSS's anonymous memory (heap, buffers) and its file-backed pages (node's code, mapped libraries). */
  rssAnon: number;
  rssFile: number;
  /** With FAIRSEND_WATCH_LOOP=1: the longest the event loop was held since the last stats (ms, ±10). */
  loopHeldMs?: number;
  dynamo: { requests: Record<string, number>; readUnits: number; writeUnits: number };
}

export interface RelayChild {
  process: ChildProcess;
  pid: number;
  ports: { starttls: number; implicitTls: number; http: number };
  stats(): Promise<RelayStats>;
  gc(): Promise<void>;
  /** Starts a CPU profile of the relay's main thread. */
  startProfile(): Promise<void>;
  /** Stops it and writes it (a .cpuprofile, for Chrome DevTools) to `file`. */
  stopProfile(file: string): Promise<void>;
  /** Asks the relay to exit cleanly (profiles are written) and waits for it. */
  exit(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./relay-process.ts', import.meta.url));

/**
 * Starts test/helpers/relay-process.ts with tsx, or `script`, that module compiled to JavaScript
 * (the benchmark's bundle, run with plain node); with `nodeFlags` (the image's, a profiler's) and
 * `env` (the image's); resolves once it listens.
 */
export async function startRelayChild(
  config: FairsendConfig,
  tls: { keyFile: string; certFile: string },
  options: { script?: string; nodeFlags?: string[]; env?: Record<string, string> } = {},
): Promise<RelayChild> {
  const child = fork(options.script ?? SCRIPT, [], {
    execArgv: [...(options.script ? [] : ['--import', 'tsx']), '--expose-gc', ...(options.nodeFlags ?? [])],
    env: {
      ...process.env,
      ...options.env,
      FAIRSEND_PROCESS_CONFIG: JSON.stringify(config),
      FAIRSEND_TLS_KEY: tls.keyFile,
      FAIRSEND_TLS_CERT: tls.certFile,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ports = await new Promise<RelayChild['ports']>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`relay process exited with ${code} before it was ready`));
    child.once('exit', onExit);
    child.on('message', (message: { type: string } & RelayChild['ports']) => {
      if (message.type !== 'ready') return;
      child.off('exit', onExit);
      resolve({ starttls: message.starttls, implicitTls: message.implicitTls, http: message.http });
    });
  });
  const request = <T>(type: string, extra: object = {}) =>
    new Promise<T>((resolve, reject) => {
      const listener = (message: { type: string; error?: string } & T) => {
        if (message.type !== type) return;
        child.off('message', listener);
        if (message.error) reject(new Error(`relay process, ${type}: ${message.error}`));
        else resolve(message);
      };
      child.on('message', listener);
      child.send({ type, ...extra });
    });
  return {
    process: child,
    pid: child.pid!,
    ports,
    stats: () => request<RelayStats>('stats'),
    gc: () => request<void>('gc'),
    startProfile: () => request<void>('profile-start'),
    stopProfile: (file) => request<void>('profile-stop', { file }),
    exit: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ type: 'exit' });
      }),
    kill: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
