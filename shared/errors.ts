/**
 * Domain errors. Each has an explicit `name` and keeps its `cause`, so logs say what failed
 * and adapters (proxy/, lambdas/) can map them without string matching.
 */

/** Enhanced status codes used by Fairsend (RFC 3463). A typo here is a compile error. */
export type EnhancedCode =
  | '2.0.0'
  | '2.1.0'
  | '2.1.5'
  | '4.3.0'
  | '4.4.1'
  | '4.5.3'
  | '4.7.0'
  | '5.1.3'
  | '5.1.7'
  | '5.3.4'
  | '5.5.1'
  | '5.5.2'
  | '5.6.0'
  | '5.7.0'
  | '5.7.1'
  | '5.7.8';

type TransientCode = 421 | 450 | 451 | 452 | 454;
type PermanentCode = 530 | 535 | 550 | 552 | 553 | 554;
export type ReplyCode = TransientCode | PermanentCode;

/**
 * One SMTP reply. smtp-server writes `responseCode` and `message` verbatim, so the enhanced
 * code is part of the message: "550 5.7.1 <a@b>: recipient has objected ...".
 */
export class SmtpReply extends Error {
  override readonly name = 'SmtpReply';
  readonly responseCode: ReplyCode;
  readonly enhanced: EnhancedCode;
  readonly text: string;

  constructor(code: ReplyCode, enhanced: EnhancedCode, text: string, options?: { cause?: unknown }) {
    super(`${enhanced} ${text}`, options);
    this.responseCode = code;
    this.enhanced = enhanced;
    this.text = text;
  }

  get transient(): boolean {
    return this.responseCode < 500;
  }

  override toString(): string {
    return `${this.responseCode} ${this.message}`;
  }
}

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
