import type { Refusal, Rule } from '../shared/verdict.ts';

/** Enhanced status codes used by Fairsend (RFC 3463). A typo here is a compile error. */
export type EnhancedCode =
  | '2.0.0'
  | '4.3.0'
  | '4.3.1'
  | '4.4.1'
  | '4.4.2'
  | '4.5.3'
  | '4.7.0'
  | '5.1.3'
  | '5.1.7'
  | '5.3.4'
  | '5.6.0'
  | '5.7.1'
  | '5.7.8';

type TransientCode = 421 | 451 | 452 | 454;
type PermanentCode = 535 | 550 | 552 | 553 | 554;
export type ReplyCode = TransientCode | PermanentCode;

/**
 * One SMTP reply, the only error the relay hands smtp-server. smtp-server writes `responseCode`
 * and `message` verbatim, so the enhanced code is part of the message:
 * "550 5.7.1 <a@b>: recipient has objected ...".
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

/**
 * The one table from a rule to its SMTP reply (RFC 5321 §4.2, RFC 3463). Temporary rules get 4xx
 * (the client keeps the message and retries), refusals 5xx (the client tells its user).
 */
const REPLIES: Record<Rule, readonly [ReplyCode, EnhancedCode]> = {
  'sender:invalid': [553, '5.1.7'],
  'sender:not-allowed': [550, '5.7.1'],
  'header-from:not-allowed': [550, '5.7.1'],
  'recipient:invalid': [553, '5.1.3'],
  'recipient:too-many': [452, '4.5.3'],
  'opposition:address': [550, '5.7.1'],
  'opposition:domain': [550, '5.7.1'],
  'policy:no-consent': [550, '5.7.1'],
  'policy:consumer-mailbox': [550, '5.7.1'],
  'policy:profession-mismatch': [550, '5.7.1'],
  'policy:no-data-source': [550, '5.7.1'],
  'policy:display-name-address': [550, '5.7.1'],
  'purpose:missing': [550, '5.7.1'],
  'purpose:undeclared': [550, '5.7.1'],
  'message:malformed': [554, '5.6.0'],
  'message:too-large': [552, '5.3.4'],
  'directive:invalid': [554, '5.6.0'],
  'ses:temporary': [451, '4.4.1'],
  'ses:permanent': [554, '5.7.1'],
  'store:unavailable': [451, '4.3.0'],
  'internal:error': [451, '4.3.0'],
  'user:removed': [421, '4.7.0'],
  'auth:failed': [535, '5.7.8'],
  'auth:unavailable': [454, '4.7.0'],
  'auth:throttled': [454, '4.7.0'],
  // 421 closes the connection (RFC 5321 §3.8): after a few failures, after a deadline, after a flood.
  'auth:too-many-failures': [421, '4.7.0'],
  'storage:insufficient': [452, '4.3.1'],
  'transaction:timeout': [421, '4.4.2'],
  'recipient:too-many-refused': [421, '4.7.0'],
};

export function replyFor(refusal: Refusal, options?: { cause?: unknown }): SmtpReply {
  const [code, enhanced] = REPLIES[refusal.rule];
  return new SmtpReply(code, enhanced, refusal.reason, options);
}

/** Exported for the test that every temporary rule maps to 4xx and every refusal to 5xx. */
export const REPLY_TABLE: Readonly<typeof REPLIES> = REPLIES;
