import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/log.ts';
import type { FleetRegistry } from '../shared/stores/fleet.ts';

/**
 * SES's maximum send rate is per account, not per relay task: with N tasks each keeping the whole
 * rate, the fleet sends N times it and leans on throttling. Each task takes its share instead —
 * the account's rate divided by the tasks alive (heartbeats in DynamoDB, no request per copy) —
 * and adjusts as tasks come and go. If the registry cannot be read, the last share stands.
 */
export function startFleetRate(options: {
  registry: FleetRegistry;
  accountRate: number;
  setRate: (perSecond: number) => void;
  log: Logger;
  intervalMs: number;
  taskId?: string;
}): { ready: Promise<void>; stop(): void } {
  const taskId = options.taskId ?? randomUUID();
  let share = options.accountRate;
  const tick = async () => {
    const now = new Date();
    try {
      await options.registry.heartbeat(taskId, new Date(now.getTime() + 3 * options.intervalMs));
      const live = Math.max(1, await options.registry.live(now));
      const next = options.accountRate / live;
      if (next !== share) options.log.info('fleet.rate', { tasks: live, perSecond: next });
      share = next;
      options.setRate(share);
    } catch (err) {
      options.log.warn('fleet.unreadable', { err, perSecond: share });
    }
  };
  const ready = tick();
  const timer = setInterval(() => void tick(), options.intervalMs);
  timer.unref();
  return { ready, stop: () => clearInterval(timer) };
}
