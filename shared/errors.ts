/**
 * Domain errors. Each has an explicit `name` and keeps its `cause`, so logs say what failed
 * and adapters (proxy/, lambdas/) can map them without string matching. Refusals are not errors:
 * rules return verdicts (shared/verdict.ts), and the SMTP reply class lives at the SMTP edge
 * (proxy/smtp-replies.ts).
 */

/** The configuration is invalid; `path` names the field (e.g. `smtpUsers.alice.controller`). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** A store (DynamoDB) could not be read or written. Callers fail closed on it. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(
    readonly operation: string,
    options: { cause: unknown },
  ) {
    super(`${operation} failed: ${describeCause(options.cause)}`, options);
  }
}

/** SES refused a copy for good (unverified identity, rejected content, suspended account). */
export class SesPermanentError extends Error {
  override readonly name = 'SesPermanentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** SES could not take a copy now (throttling, 5xx, network); retrying later may work. */
export class SesTemporaryError extends Error {
  override readonly name = 'SesTemporaryError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return String(cause);
}
