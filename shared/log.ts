/**
 * Structured one-line JSON logs on stderr. Secrets never reach here: callers pass ids, never
 * passwords, tokens or message bodies.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: LogLevel = (process.env.FAIRSEND_LOG_LEVEL as LogLevel) ?? 'info'): Logger {
  const min = ORDER[level] ?? ORDER.info;
  const write =
    (lvl: Exclude<LogLevel, 'silent'>) =>
    (event: string, fields: Record<string, unknown> = {}) => {
      if (ORDER[lvl] < min) return;
      const line = { t: new Date().toISOString(), level: lvl, event, ...fields };
      process.stderr.write(`${JSON.stringify(line, errorReplacer)}\n`);
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

export const silentLogger: Logger = createLogger('silent');
