import { type ChildProcess, spawn } from 'node:child_process';
import { Agent } from 'node:https';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Served } from '../../infra/local/http-server.ts';
import { endpointOptions } from '../../shared/aws/local-endpoint.ts';
import type { FairsendConfig } from '../../shared/config.ts';
import { createDynamoClient, ensureTables } from '../../shared/stores/dynamo.ts';
import { testConfig } from '../helpers/config.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A stand-in in a child process; `served`: every request it answered, when started reporting them. */
export interface StandInProcess {
  port: number;
  proc: ChildProcess;
  served: Served[];
}

export interface StandInOptions {
  reportServed?: boolean;
  /** Serve HTTPS with the key.pem and cert.pem in this directory (the benchmark's encrypted legs). */
  tlsDir?: string;
}

/** The DynamoDB stand-in in a child process (test/bench/stand-in-process.ts); resolves once it listens. */
export function startDynamoProcess(latencyMs = 0, options: StandInOptions = {}): Promise<StandInProcess> {
  return standInProcess('dynamodb', latencyMs, options);
}

/** The SES stand-in in a child process; resolves once it listens. */
export function startSesProcess(latencyMs = 0, options: StandInOptions = {}): Promise<StandInProcess> {
  return standInProcess('ses', latencyMs, options);
}

async function standInProcess(
  service: 'dynamodb' | 'ses',
  latencyMs: number,
  options: StandInOptions,
): Promise<StandInProcess> {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/bench/stand-in-process.ts',
      '--service',
      service,
      '--latency-ms',
      String(latencyMs),
      ...(options.reportServed ? ['--report-served'] : []),
      ...(options.tlsDir ? ['--tls-dir', options.tlsDir] : []),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const served: Served[] = [];
  const lines = createInterface({ input: proc.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    lines.on('line', (line) => {
      const said = JSON.parse(line) as { port?: number; served?: Served };
      if (said.served) served.push(said.served);
      else if (said.port !== undefined) resolve(said.port);
    });
    proc.once('exit', (code) => reject(new Error(`${service} stand-in exited ${code}`)));
  });
  return { port, proc, served };
}

/**
 * The test configuration with the benchmark's limits (one client address, big messages, no SES
 * rate limit) against the given stand-ins; creates the tables. `https`: the stand-ins serve HTTPS
 * with this certificate (the processes that call them must trust it: NODE_EXTRA_CA_CERTS).
 */
export async function benchConfig(
  dynamoPort: number,
  sesPort: number,
  options: { https?: { cert: string } } = {},
): Promise<FairsendConfig> {
  const base = await testConfig((raw) => {
    raw.smtp.maxConnections = 5000;
    // The load comes from one address (127.0.0.1): the per-client cap would be the bottleneck.
    raw.smtp.maxConnectionsPerIp = 5000;
    raw.smtp.maxRecipients = 200;
    // No periodic reads of the SMTP users during the request counts.
    raw.smtp.userRefreshMs = 3_600_000;
    raw.smtp.maxMessageBytes = 40 * 1024 * 1024;
    raw.ses.maxSendRate = 1_000_000;
    raw.ses.requestTimeoutMs = 30_000;
    raw.ses.retryDeadlineMs = 60_000;
  });
  const scheme = options.https ? 'https' : 'http';
  const config: FairsendConfig = {
    ...base,
    dynamodb: { ...base.dynamodb, endpoint: `${scheme}://127.0.0.1:${dynamoPort}`, requestTimeoutMs: 10_000 },
    ses: { ...base.ses, endpoint: `${scheme}://127.0.0.1:${sesPort}` },
  };
  // The tables through the SDK, trusting the stand-in's certificate where it serves HTTPS.
  const db = options.https
    ? DynamoDBDocumentClient.from(
        new DynamoDBClient({
          region: config.dynamodb.region,
          ...endpointOptions(config.dynamodb.endpoint),
          requestHandler: { httpsAgent: new Agent({ ca: options.https.cert }) },
        }),
      )
    : createDynamoClient(config.dynamodb);
  await ensureTables(db, config.dynamodb.tables);
  db.destroy();
  return config;
}

/** What the probe saw (`test/bench/probe-process.ts`): ms from MAIL FROM to 250 per message, and its errors. */
export interface ProbeResult {
  times: number[];
  errors: string[];
  /** The longest wait for each step's reply (MAIL, RCPT, DATA, end of DATA), ms. */
  slowest: Record<string, number>;
}

/**
 * Another client in a process of its own, sending small messages to `port` one after another
 * until `stop` (test/bench/probe-process.ts); trusts the certificate in `tlsDir`.
 */
export async function startProbe(port: number, tlsDir: string): Promise<{ stop(): Promise<ProbeResult> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/bench/probe-process.ts', String(port)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, FAIRSEND_TEST_TLS_DIR: tlsDir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const lines = createInterface({ input: proc.stdout! });
  const said: { ready?: boolean; times?: number[]; errors?: string[]; slowest?: Record<string, number> }[] = [];
  const waiters: (() => void)[] = [];
  lines.on('line', (line) => {
    said.push(JSON.parse(line));
    for (const w of waiters.splice(0)) w();
  });
  const next = async (what: (s: (typeof said)[number]) => boolean) => {
    for (;;) {
      const found = said.find(what);
      if (found) return found;
      if (proc.exitCode !== null) throw new Error(`the probe exited with ${proc.exitCode}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        proc.once('exit', () => resolve());
      });
    }
  };
  await next((s) => s.ready === true);
  return {
    async stop() {
      proc.stdin!.end();
      const result = await next((s) => Array.isArray(s.times));
      return { times: result.times!, errors: result.errors ?? [], slowest: result.slowest ?? {} };
    },
  };
}
