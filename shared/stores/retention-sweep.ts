import { type DynamoDBDocumentClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { deleteAll, type TableNames } from './dynamo.ts';
import { storeError } from './store-error.ts';

/**
 * What retention removes, by table and kind of item: `fairsend retention --preview` (what will go
 * and when, before it goes) and the local stack's purge (dynalite has no TTL; in AWS DynamoDB's TTL
 * deletes by the same `expires` attribute). A Scan with a projection of the keys and `expires`: an
 * operator's occasional report, not a list the console pages through.
 */
export interface RetentionLine {
  table: keyof TableNames;
  kind: string;
  /** Already past `expires`: deleted by TTL within a few days in AWS, by the next purge locally. */
  overdue: number;
  /** Expiring within the horizon, and the first of them. */
  upcoming: number;
  next?: string;
}

/** What an item is, from its keys. */
export function kindOf(table: keyof TableNames, pk: string, sk: string): string {
  switch (table) {
    case 'sendLog':
      if (pk.startsWith('idem#')) return 'idempotency record';
      if (pk.startsWith('ses#')) return 'SES message → company';
      if (pk.startsWith('soft#')) return 'soft bounce';
      if (pk.startsWith('fleet#')) return 'relay heartbeat';
      if (sk.startsWith('sent#')) return 'copy sent';
      return `SES event (${sk.slice(0, sk.indexOf('#'))})`;
    case 'blockedSends':
      return pk.startsWith('stats#') ? 'daily counter' : 'blocked or flagged send';
    case 'contacts':
      return 'contact';
    case 'admin':
      if (pk.startsWith('session#')) return 'console session';
      if (pk.startsWith('throttle#')) return 'login-failure window';
      if (pk === 'dsr') return 'data-subject request (closed)';
      return 'admin item';
    case 'audit':
      return 'audit entry';
    default:
      return 'item';
  }
}

async function* expiring(
  db: DynamoDBDocumentClient,
  table: string,
  before: number,
): AsyncGenerator<{ pk: string; sk: string; expires: number }> {
  let start: Record<string, unknown> | undefined;
  do {
    const out: ScanCommandOutput = await db.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: '#e <= :before',
        ProjectionExpression: 'pk, sk, #e',
        ExpressionAttributeNames: { '#e': 'expires' },
        ExpressionAttributeValues: { ':before': before },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) yield item as { pk: string; sk: string; expires: number };
    start = out.LastEvaluatedKey;
  } while (start);
}

/** The tables whose items expire: all but the opposition list. */
const EXPIRING: (keyof TableNames)[] = ['contacts', 'sendLog', 'blockedSends', 'admin', 'audit'];

export async function retentionPreview(
  db: DynamoDBDocumentClient,
  tables: TableNames,
  horizonDays: number,
  now = new Date(),
): Promise<RetentionLine[]> {
  const nowEpoch = Math.floor(now.getTime() / 1000);
  const horizon = nowEpoch + horizonDays * 86_400;
  const lines = new Map<string, RetentionLine>();
  try {
    for (const table of EXPIRING) {
      for await (const item of expiring(db, tables[table], horizon)) {
        const kind = kindOf(table, String(item.pk), String(item.sk));
        const key = `${table}\0${kind}`;
        const line = lines.get(key) ?? { table, kind, overdue: 0, upcoming: 0 };
        if (item.expires <= nowEpoch) line.overdue++;
        else {
          line.upcoming++;
          const at = new Date(item.expires * 1000).toISOString();
          if (!line.next || at < line.next) line.next = at;
        }
        lines.set(key, line);
      }
    }
  } catch (err) {
    throw storeError('retention preview', err);
  }
  return [...lines.values()].sort((a, b) => a.table.localeCompare(b.table) || a.kind.localeCompare(b.kind));
}

/** Deletes every item past its `expires` (the local stand-in for DynamoDB's TTL). */
export async function purgeExpired(
  db: DynamoDBDocumentClient,
  tables: TableNames,
  now = new Date(),
): Promise<Record<string, number>> {
  const removed: Record<string, number> = {};
  const nowEpoch = Math.floor(now.getTime() / 1000);
  try {
    for (const table of EXPIRING) {
      const keys: { pk: string; sk: string }[] = [];
      for await (const item of expiring(db, tables[table], nowEpoch))
        keys.push({ pk: String(item.pk), sk: String(item.sk) });
      await deleteAll(db, tables[table], keys);
      if (keys.length > 0) removed[table] = keys.length;
    }
  } catch (err) {
    throw storeError('retention purge', err);
  }
  return removed;
}
