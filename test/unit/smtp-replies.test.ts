import { describe, expect, it } from 'vitest';
import { REPLY_TABLE, replyFor } from '../../proxy/smtp-replies.ts';
import { type DeferRule, defer, reject } from '../../shared/verdict.ts';

const DEFER_RULES: DeferRule[] = [
  'recipient:too-many',
  'ses:temporary',
  'store:unavailable',
  'internal:error',
  'user:removed',
  'auth:unavailable',
  'auth:throttled',
  'auth:too-many-failures',
  'storage:insufficient',
  'transaction:timeout',
  'recipient:too-many-refused',
];

describe('the one table from rule to SMTP reply', () => {
  it('gives 4xx to exactly the rules that may succeed later, 5xx to all others', () => {
    for (const [rule, [code, enhanced]] of Object.entries(REPLY_TABLE)) {
      const transient = (DEFER_RULES as string[]).includes(rule);
      expect(code < 500, rule).toBe(transient);
      expect(enhanced[0], rule).toBe(transient ? '4' : '5');
    }
  });

  it('writes the enhanced code into the reply text, as the client reads it', () => {
    expect(replyFor(reject('opposition:address', '<b@c.example>: objected')).toString()).toBe(
      '550 5.7.1 <b@c.example>: objected',
    );
    expect(replyFor(defer('store:unavailable', 'try later')).toString()).toBe('451 4.3.0 try later');
    expect(replyFor(reject('message:too-large', 'too big')).responseCode).toBe(552);
  });
});
