import { describe, expect, it } from 'vitest';
import { runRecords } from '../../lambdas/records.ts';
import { StoreUnavailableError } from '../../shared/errors.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';

describe('the per-record runner of the event Lambdas', () => {
  const parse = (raw: unknown) =>
    typeof raw === 'number'
      ? { ok: true as const, id: String(raw), value: raw }
      : { ok: false as const, issue: 'not a number' };

  it('acknowledges unreadable records and records that fail for good, and runs the rest', async () => {
    const log = memoryLogger();
    const result = await runRecords(
      'test',
      [1, 'junk', 2, 3],
      parse,
      async (n) => {
        if (n === 2) throw new RangeError('bad data');
        return n * 10;
      },
      log,
    );
    expect(result).toEqual({ processed: 2, skipped: 2, results: [10, 30] });
    expect(log.events.map((e) => e.event)).toEqual(['test.malformed-record', 'test.record-failed']);
  });

  it('runs every record, then throws a store outage so Lambda retries the invocation', async () => {
    const done: number[] = [];
    const run = runRecords(
      'test',
      [1, 2, 3],
      parse,
      async (n) => {
        if (n === 1) throw new StoreUnavailableError('opposition write', { cause: new Error('down') });
        done.push(n);
      },
      memoryLogger(),
    );
    await expect(run).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(done).toEqual([2, 3]);
  });
});
