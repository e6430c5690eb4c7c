import type { Controller } from '../config.ts';
import type { Opposition } from '../stores/opposition-list.ts';
import { ACCEPT, type OppositionRule, reject, type Verdict } from '../verdict.ts';

/**
 * A recipient on the company's opposition list is never sent to: their own entry, or their
 * domain's (`@domain`). The list is read by the caller, who fails closed when it cannot.
 */
export function oppositionVerdict(
  opposition: Opposition | null,
  controller: Controller,
  rawRecipient: string,
): Verdict<OppositionRule> {
  if (!opposition) return ACCEPT;
  return reject(
    opposition.subject.startsWith('@') ? 'opposition:domain' : 'opposition:address',
    `<${rawRecipient}>: recipient has objected to messages from ${controller.legalName}`,
  );
}
