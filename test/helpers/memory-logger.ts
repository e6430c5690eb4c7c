import type { Logger } from '../../shared/log.ts';

/** A logger that keeps what it was told, to assert that something was logged. */
export function memoryLogger(): Logger & {
  events: { level: string; event: string; fields: Record<string, unknown> }[];
} {
  const events: { level: string; event: string; fields: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (event: string, fields: Record<string, unknown> = {}) => {
      events.push({ level, event, fields });
    };
  return { events, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
