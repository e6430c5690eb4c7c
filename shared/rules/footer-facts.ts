import { type Controller, type Language, localise, type Purpose } from '../config.ts';
import type { Directives } from '../directives.ts';
import type { Contact } from '../stores/contacts.ts';

/**
 * What a recipient's footer says about them, each fact from the most specific place that has it:
 * the message's `X-Fairsend-*` header > the contact record > the purpose > the company. Written
 * once here: the policy's "is a data source known" and the footer read the same answer.
 */
export interface FooterFacts {
  language: Language;
  reason: string;
  source: string | undefined;
  obtainedAt: string | undefined;
}

export function footerFacts(
  controller: Controller,
  purpose: Purpose,
  contact: Contact | undefined,
  directives: Directives,
): FooterFacts {
  const language = directives.language ?? contact?.language ?? controller.defaultLanguage;
  return {
    language,
    reason: directives.reason ?? contact?.reason ?? localise(purpose.reason, language),
    source:
      directives.source ??
      contact?.source ??
      (purpose.dataSource ? localise(purpose.dataSource, language) : undefined) ??
      (controller.defaultDataSource ? localise(controller.defaultDataSource, language) : undefined),
    // A source given in the message comes with its own date (or none), never the contact's.
    obtainedAt: directives.source ? directives.sourceDate : (directives.sourceDate ?? contact?.obtainedAt),
  };
}
