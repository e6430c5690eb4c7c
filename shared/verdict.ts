/**
 * What a rule decides, in the domain's words. The core returns verdicts; only the edges turn
 * them into a protocol's answer (`proxy/smtp-replies.ts` for SMTP, the Lambda handlers for HTTP).
 * A rule that cannot decide now (a store is down, SES is throttling) defers: the client is told
 * to try again and nothing is lost. A rule that refuses for good rejects.
 */
export type SenderRule = 'sender:invalid' | 'sender:not-allowed' | 'header-from:not-allowed';
export type RecipientRule = 'recipient:invalid' | 'recipient:too-many';
export type OppositionRule = 'opposition:address' | 'opposition:domain';
export type PolicyRule =
  | 'policy:no-consent'
  | 'policy:consumer-mailbox'
  | 'policy:profession-mismatch'
  | 'policy:no-data-source'
  | 'policy:display-name-address';
export type PurposeRule = 'purpose:missing' | 'purpose:undeclared';
export type MessageRule = 'message:malformed' | 'message:too-large' | 'directive:invalid';
export type DeliveryRule = 'ses:temporary' | 'ses:permanent';
/** The service's own state (a store down, a deadline, a throttle): all of them may pass later. */
export type TemporaryServiceRule =
  | 'store:unavailable'
  | 'internal:error'
  | 'user:removed'
  | 'auth:unavailable'
  | 'auth:throttled'
  | 'auth:too-many-failures'
  | 'storage:insufficient'
  | 'transaction:timeout'
  | 'recipient:too-many-refused';
export type ServiceRule = TemporaryServiceRule | 'auth:failed';

export type Rule =
  | SenderRule
  | RecipientRule
  | OppositionRule
  | PolicyRule
  | PurposeRule
  | MessageRule
  | DeliveryRule
  | ServiceRule;

/** The rules that can only defer: what they refuse may go through later. All others reject. */
export type DeferRule = TemporaryServiceRule | 'recipient:too-many' | 'ses:temporary';
export type RejectRule = Exclude<Rule, DeferRule>;

/** A refusal: `reject` for good, `defer` until later. `reason` is the sentence the sender reads. */
export type Refusal<R extends Rule = Rule> = R extends DeferRule
  ? { kind: 'defer'; rule: R; reason: string }
  : { kind: 'reject'; rule: R; reason: string };

export type Verdict<R extends Rule = Rule> = { kind: 'accept' } | Refusal<R>;

export const ACCEPT: Verdict<never> = Object.freeze({ kind: 'accept' });

export function reject<R extends RejectRule>(rule: R, reason: string): Refusal<R> {
  return { kind: 'reject', rule, reason } as Refusal<R>;
}

export function defer<R extends DeferRule>(rule: R, reason: string): Refusal<R> {
  return { kind: 'defer', rule, reason } as Refusal<R>;
}

/**
 * A verdict carried through code that cannot return one (a hook deep in a call, a promise
 * chain): thrown by the core, caught at the edge and translated like any other verdict.
 */
export class RefusalError extends Error {
  override readonly name = 'RefusalError';
  constructor(
    readonly refusal: Refusal,
    options?: { cause?: unknown },
  ) {
    super(`${refusal.rule}: ${refusal.reason}`, options);
  }
}
