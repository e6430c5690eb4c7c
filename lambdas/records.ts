import { StoreUnavailableError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';

/**
 * How every event-driven Lambda (SES events, mailto) treats the records of one invocation, so
 * they fail alike: each record runs on its own, and
 * - a record that cannot be read is logged and acknowledged: no retry can make it readable;
 * - a store that cannot be reached is retried: the error is thrown once the other records have
 *   run, so Lambda invokes again (every write is idempotent, so records already done are harmless);
 * - any other failure (bad data, a bug) is logged with the record's id and acknowledged, so one
 *   poisoned record never blocks the rest forever.
 */
export type ParsedRecord<R> = { ok: true; id?: string; value: R } | { ok: false; id?: string; issue: string };

export interface RecordsResult<T> {
  processed: number;
  skipped: number;
  results: T[];
}

export async function runRecords<R, T>(
  name: string,
  records: unknown[],
  parse: (raw: unknown) => ParsedRecord<R>,
  handle: (value: R) => Promise<T>,
  log: Logger,
): Promise<RecordsResult<T>> {
  const result: RecordsResult<T> = { processed: 0, skipped: 0, results: [] };
  let retry: StoreUnavailableError | undefined;
  for (const raw of records) {
    const parsed = parse(raw);
    if (!parsed.ok) {
      result.skipped++;
      log.warn(`${name}.malformed-record`, { id: parsed.id, issue: parsed.issue });
      continue;
    }
    try {
      result.results.push(await handle(parsed.value));
      result.processed++;
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        retry ??= err;
        log.error(`${name}.store-unavailable`, { id: parsed.id, err });
        continue;
      }
      result.skipped++;
      log.error(`${name}.record-failed`, { id: parsed.id, err });
    }
  }
  if (retry) throw retry;
  return result;
}
