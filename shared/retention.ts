import type { FairsendConfig } from './config.ts';

/**
 * How long each kind of item is kept (config `retention`, README "Retention"). Every item that
 * must go carries `expires` (epoch seconds), the attribute DynamoDB's TTL deletes by in AWS and
 * the local stack's purge deletes by locally. Oppositions carry none: they are honoured for as long
 * as they exist.
 */
export interface Retention {
  contactsMonths: number;
  sendLogMonths: number;
  blockedSendsMonths: number;
  sesEventsMonths: number;
  auditMonths: number;
  requestsMonths: number;
  /** Idempotency records: the window in which a retried message skips copies already sent. */
  idempotencyHours: number;
  /** Transient-bounce records: the window they are counted in. */
  softBounceDays: number;
}

export const DEFAULT_RETENTION: Retention = {
  contactsMonths: 36,
  sendLogMonths: 36,
  blockedSendsMonths: 36,
  sesEventsMonths: 36,
  auditMonths: 60,
  requestsMonths: 60,
  idempotencyHours: 7 * 24,
  softBounceDays: 14,
};

export function retentionOf(config: Pick<FairsendConfig, 'retention' | 'ses' | 'feedback'>): Retention {
  return {
    ...config.retention,
    idempotencyHours: config.ses.idempotencyWindowHours,
    softBounceDays: config.feedback.softBounceWindowDays,
  };
}

/** `from` plus whole calendar months (the 31st of a short month is its last day). */
export function addMonths(from: Date, months: number): Date {
  const d = new Date(from.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d;
}

/** The `expires` value (epoch seconds) of an item kept `months` (or `hours`) after `from`. */
export function expiresAfter(from: string | Date, period: { months?: number; hours?: number; days?: number }): number {
  const start = typeof from === 'string' ? new Date(from) : from;
  const end = period.months !== undefined ? addMonths(start, period.months) : new Date(start.getTime());
  end.setTime(end.getTime() + (period.hours ?? 0) * 3_600_000 + (period.days ?? 0) * 86_400_000);
  return Math.floor(end.getTime() / 1000);
}

/** True when an item's `expires` is past: it is gone in law even if TTL has not deleted it yet. */
export function isExpired(item: { expires?: unknown }, now = Date.now()): boolean {
  return typeof item.expires === 'number' && item.expires * 1000 <= now;
}
