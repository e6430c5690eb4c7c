import { describe, expect, it } from 'vitest';
import { startFleetRate } from '../../proxy/fleet-rate.ts';
import { RateLimiter } from '../../proxy/rate-limiter.ts';
import { silentLogger } from '../../shared/log.ts';
import type { FleetRegistry } from '../../shared/stores/fleet.ts';

describe('the fleet share of the SES send rate', () => {
  it('takes the account rate divided by the tasks alive, and keeps the last share when the registry fails', async () => {
    let live = 3;
    let broken = false;
    const beats: string[] = [];
    const registry: FleetRegistry = {
      heartbeat: async (taskId) => {
        if (broken) throw new Error('down');
        beats.push(taskId);
      },
      live: async () => live,
    };
    const limiter = new RateLimiter(30);
    /** One tick of a fleet share for this process, then stopped. */
    const tick = async (taskId?: string) => {
      const fleet = startFleetRate({
        registry,
        accountRate: 30,
        setRate: (r) => limiter.setRate(r),
        log: silentLogger,
        intervalMs: 60_000,
        ...(taskId ? { taskId } : {}),
      });
      await fleet.ready;
      fleet.stop();
    };
    await tick('task-a');
    expect(beats).toEqual(['task-a']);
    expect(limiter.rate).toBe(10);

    live = 0; // its own heartbeat not yet visible: never divide by zero, never more than the account
    await tick();
    expect(limiter.rate).toBe(30);

    live = 5;
    broken = true;
    await tick();
    expect(limiter.rate).toBe(30);
  });
});
