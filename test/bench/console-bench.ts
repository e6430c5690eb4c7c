import { performance } from 'node:perf_hooks';
import type { FairsendConfig } from '../../shared/config.ts';
import type { BlockedSendFilter } from '../../shared/stores/blocked-sends.ts';
import { createDynamoClient, ensureTables, writeAll } from '../../shared/stores/dynamo.ts';
import { createStores } from '../../shared/stores/index.ts';

/**
 * The console's lists cost the same over 100 or 100,000 blocked sends: one controller holds
 * 100,000 records, another 100 (same table, same distribution of users, domains and rules), and
 * the same filtered first page and a page deep in the list (by continuation token) are timed on
 * each. A Scan, or a Query that read the whole partition, would show here as a ratio far from 1.
 */
export interface ConsoleBenchRow {
  filter: string;
  small: number;
  large: number;
  deepLarge: number;
}

const USERS = 10;
const DOMAINS = 1000;
const RULES = [
  'opposition:address',
  'opposition:domain',
  'policy:no-consent',
  'policy:consumer-mailbox',
  'sender:not-allowed',
  'policy:profession-mismatch',
];

function items(controller: string, count: number, start: Date): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const at = new Date(start.getTime() + i * 1000).toISOString();
    const id = `${at}#${i.toString(16).padStart(12, '0')}`;
    const user = `user${i % USERS}`;
    const recipient = `p${i}@d${i % DOMAINS}.example`;
    const rule = RULES[i % RULES.length]!;
    const outcome = rule === 'policy:profession-mismatch' ? 'flagged' : 'blocked';
    const mailFrom = `${user}@acme.example`;
    out.push({
      pk: controller,
      sk: id,
      gUser: `${controller}#${user}`,
      gSender: `${controller}#${mailFrom}`,
      gRule: `${controller}#${rule}`,
      gRecipient: `${controller}#${recipient}`,
      gDomain: `${controller}#${recipient.split('@')[1]}`,
      ...(outcome === 'flagged' && Math.floor(i / RULES.length) % 2 === 0 ? { gReview: `${controller}#open` } : {}),
      controller,
      id,
      at,
      user,
      mailFrom,
      recipient,
      outcome,
      rule,
      reason: 'benchmark',
      subject: 'Offre',
    });
  }
  return out;
}

export async function benchConsoleLists(
  config: FairsendConfig,
  log: (line: string) => void,
  large = 100_000,
): Promise<ConsoleBenchRow[]> {
  const db = createDynamoClient({ ...config.dynamodb, requestTimeoutMs: 30_000 });
  await ensureTables(db, config.dynamodb.tables);
  const stores = createStores(db, config.dynamodb.tables);
  const start = new Date(Date.UTC(2026, 0, 1));
  const table = config.dynamodb.tables.blockedSends;
  const load = async (controller: string, count: number) => {
    const all = items(controller, count, start);
    const began = performance.now();
    let done = 0;
    const batches: Record<string, unknown>[][] = [];
    for (let i = 0; i < all.length; i += 25) batches.push(all.slice(i, i + 25));
    const worker = async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) {
        await writeAll(db, table, batch);
        done += batch.length;
        if (done % 10_000 === 0)
          log(
            `  ${controller}: ${done} of ${count} blocked sends written (${((performance.now() - began) / 1000).toFixed(0)} s)`,
          );
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  };
  log(`console lists: writing ${large} + 100 blocked sends…`);
  await load('globex', 100);
  await load('acme', large);

  const filters: [string, Omit<BlockedSendFilter, 'controller'>][] = [
    ['none (newest first)', {}],
    ['SMTP user', { user: 'user3' }],
    ['recipient domain', { recipient: '@d7.example' }],
    ['rule', { rule: 'policy:no-consent' }],
    ['rule + user (one index, one filter)', { rule: 'opposition:address', user: 'user0' }],
    ['awaiting review', { openReviews: true }],
    ['period (one day)', { from: '2026-01-01T12', to: '2026-01-02' }],
  ];
  const time = async (filter: BlockedSendFilter, page?: string) => {
    const samples: number[] = [];
    for (let i = 0; i < 3; i++) await stores.blockedSends.search(filter, { limit: 50, page }); // warm-up
    for (let i = 0; i < 31; i++) {
      const t = performance.now();
      await stores.blockedSends.search(filter, { limit: 50, page });
      samples.push(performance.now() - t);
    }
    samples.sort((a, b) => a - b);
    return samples[Math.floor(samples.length / 2)]!;
  };
  const rows: ConsoleBenchRow[] = [];
  for (const [name, filter] of filters) {
    // A page deep in the large list: the token after 20 pages.
    let token: string | undefined;
    for (let i = 0; i < 20; i++) {
      const page = await stores.blockedSends.search({ controller: 'acme', ...filter }, { limit: 50, page: token });
      if (!page.next) break;
      token = page.next;
    }
    const row = {
      filter: name,
      small: await time({ controller: 'globex', ...filter }),
      large: await time({ controller: 'acme', ...filter }),
      deepLarge: await time({ controller: 'acme', ...filter }, token),
    };
    log(
      `  ${name.padEnd(38)} 100: ${row.small.toFixed(1)} ms   ${large}: ${row.large.toFixed(1)} ms (page 21: ${row.deepLarge.toFixed(1)} ms)`,
    );
    rows.push(row);
  }
  db.destroy();
  return rows;
}

/** This section with its own DynamoDB stand-in (dynalite in this process, behind the SigV4 check). */
export async function runConsoleBench(log: (line: string) => void, large = 100_000): Promise<ConsoleBenchRow[]> {
  const { startDynamoStandIn } = await import('../../infra/local/dynamodb-stand-in.ts');
  const { testConfig } = await import('../helpers/config.ts');
  const config = await testConfig();
  const dynamo = await startDynamoStandIn({ region: config.dynamodb.region, port: 0 });
  try {
    return await benchConsoleLists(
      { ...config, dynamodb: { ...config.dynamodb, endpoint: dynamo.endpoint } },
      log,
      large,
    );
  } finally {
    await dynamo.close();
  }
}

/** `npx tsx test/bench/console-bench.ts [count]`: this section alone. */
if (process.argv[1]?.endsWith('console-bench.ts')) {
  const rows = await runConsoleBench((line) => process.stdout.write(`${line}\n`), Number(process.argv[2] ?? 100_000));
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}
