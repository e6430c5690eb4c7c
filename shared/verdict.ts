import type { EnhancedCode } from './errors.ts';

/**
 * What a policy decides. The core returns verdicts; only proxy/ turns them into SMTP replies
 * and only lambdas/ into HTTP responses (Haraka's deny / deny-soft model).
 */
export type Verdict =
  | { kind: 'accept' }
  | { kind: 'reject'; enhanced: EnhancedCode; text: string; rule: string }
  | { kind: 'defer'; enhanced: EnhancedCode; text: string; rule: string };

export const accept: Verdict = { kind: 'accept' };

export function reject(rule: string, enhanced: EnhancedCode, text: string): Verdict {
  return { kind: 'reject', enhanced, text, rule };
}

export function defer(rule: string, enhanced: EnhancedCode, text: string): Verdict {
  return { kind: 'defer', enhanced, text, rule };
}
