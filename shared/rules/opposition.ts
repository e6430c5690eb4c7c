import type { NormalisedAddress } from '../address.ts';
import type { Controller } from '../config.ts';
import type { Opposition } from '../stores/opposition-list.ts';
import { ACCEPT, type OppositionRule, reject, type Verdict } from '../verdict.ts';

/**
 * Which entries of the opposition list can cover an address, most specific first:
 * - the address itself;
 * - its base address without a `+tag` (`carol+news@` reaches Carol's mailbox at most providers, so
 *   her opposition covers it), when the company's `oppositionCoversSubaddresses` is on (default);
 * - its domain (`@client.example`) and each parent domain (`@client.example` covers
 *   `paris.client.example` unless that entry says `includeSubdomains: false`).
 */
export interface OppositionMatching {
  coversSubaddresses: boolean;
}

export function matchingFor(controller: Controller): OppositionMatching {
  return { coversSubaddresses: controller.oppositionCoversSubaddresses };
}

export function oppositionSubjects(address: NormalisedAddress, matching: OppositionMatching): string[] {
  const subjects = [address.address];
  const plus = address.local.indexOf('+');
  if (matching.coversSubaddresses && plus > 0) subjects.push(`${address.local.slice(0, plus)}@${address.domain}`);
  const labels = address.domain.split('.');
  for (let i = 0; i <= labels.length - 2; i++) subjects.push(`@${labels.slice(i).join('.')}`);
  return subjects;
}

/** The entry that blocks this address among those read for it (any order), or null. */
export function blockingEntry(
  address: NormalisedAddress,
  entries: Opposition[],
  matching: OppositionMatching,
): Opposition | null {
  const bySubject = new Map(entries.map((e) => [e.subject, e]));
  for (const subject of oppositionSubjects(address, matching)) {
    const entry = bySubject.get(subject);
    if (!entry) continue;
    // A domain entry for a parent domain covers subdomains unless it says otherwise.
    if (subject.startsWith('@') && subject !== `@${address.domain}` && entry.includeSubdomains === false) continue;
    return entry;
  }
  return null;
}

/**
 * A recipient on the company's opposition list is never sent to: their own entry, their base
 * address's, or their domain's. The list is read by the caller, who fails closed when it cannot.
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
