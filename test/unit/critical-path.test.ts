import { describe, expect, it } from 'vitest';
import { criticalPath } from '../bench/critical-path.ts';

const at = (operation: string, arrivedAt: number, answeredAt: number) => ({ operation, arrivedAt, answeredAt });

describe('the benchmark: a message’s critical path through the stand-ins', () => {
  it('adds sequential round trips, counts only the longest of overlapping ones, and leaves out the gaps', () => {
    const served = [
      at('BatchGetItem', 990, 996), // an opposition check at RCPT, before the end of DATA: not in it
      at('BatchGetItem', 1001, 1007), // 6 ms
      at('SendEmail', 1008, 1058), // the copies, sent 1 ms apart: one phase, its longest 51 ms
      at('SendEmail', 1009, 1060),
      at('SendEmail', 1010, 1059),
      at('BatchWriteItem', 1062, 1070), // two batch writes at once: one phase, 8 ms
      at('BatchWriteItem', 1063, 1069),
      at('BatchGetItem', 1080, 1085), // the next message's: after the reply
    ];
    expect(criticalPath(served, { from: 1000, to: 1072 })).toEqual({ ms: 6 + 51 + 8, phases: 3 });
  });

  it('is 0 with no request in the window', () => {
    expect(criticalPath([at('SendEmail', 1, 2)], { from: 10, to: 20 })).toEqual({ ms: 0, phases: 0 });
  });
});
