import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Served } from '../../infra/local/http-server.ts';
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

/** The DynamoDB stand-in in a child process (test/bench/stand-in-process.ts); resolves once it listens. */
export function startDynamoProcess(latencyMs = 0, options: { reportServed?: boolean } = {}): Promise<StandInProcess> {
  return standInProcess('dynamodb', latencyMs, options.reportServed ?? false);
}

/** The SES stand-in in a child process; resolves once it listens. */
export function startSesProcess(latencyMs = 0, options: { reportServed?: boolean } = {}): Promise<StandInProcess> {
  return standInProcess('ses', latencyMs, options.reportServed ?? false);
}

async function standInProcess(
  service: 'dynamodb' | 'ses',
  latencyMs: number,
  reportServed: boolean,
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
      ...(reportServed ? ['--report-served'] : []),
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
 * rate limit) against the given stand-ins; creates the tables.
 */
export async function benchConfig(dynamoPort: number, sesPort: number): Promise<FairsendConfig> {
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
  const config: FairsendConfig = {
    ...base,
    dynamodb: { ...base.dynamodb, endpoint: `http://127.0.0.1:${dynamoPort}`, requestTimeoutMs: 10_000 },
    ses: { ...base.ses, endpoint: `http://127.0.0.1:${sesPort}` },
  };
  const db = createDynamoClient(config.dynamodb);
  await ensureTables(db, config.dynamodb.tables);
  db.destroy();
  return config;
}
