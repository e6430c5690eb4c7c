import { createHmac } from 'node:crypto';
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
  /** `privacy.erasureKey`: erased people's entries are kept under a keyed hash of their address. */
  erasureKey?: string | undefined;
}

export function matchingFor(controller: Controller, erasureKey?: string): OppositionMatching {
  return { coversSubaddresses: controller.oppositionCoversSubaddresses, erasureKey };
}

/**
 * The subject an erased person's opposition is kept under: `#` and the HMAC-SHA-256 of their
 * normalised address under a secret key. Their address is gone from every table, yet a message
 * to it still finds the entry; and without the key, a list of addresses cannot be hashed to find
 * who asked to be erased (a bare hash could).
 */
export function erasedSubject(key: string, address: string): string {
  return `#${createHmac('sha256', key).update(address).digest('base64url')}`;
}

/**
 * The subjects of one address, kept with the address value: a recipient's are needed at RCPT
 * (the keys to read, then the entry that blocks) and again by the re-check at DATA, and each
 * erased subject is an HMAC. Weakly held: gone with the session's recipient.
 */
const subjectsOf = new WeakMap<NormalisedAddress, { matching: OppositionMatching; subjects: readonly string[] }>();

export function oppositionSubjects(address: NormalisedAddress, matching: OppositionMatching): readonly string[] {
  const known = subjectsOf.get(address);
  if (
    known &&
    known.matching.coversSubaddresses === matching.coversSubaddresses &&
    known.matching.erasureKey === matching.erasureKey
  ) {
    return known.subjects;
  }
  const subjects = [address.address];
  const plus = address.local.indexOf('+');
  const base = plus > 0 ? `${address.local.slice(0, plus)}@${address.domain}` : undefined;
  if (matching.coversSubaddresses && base) subjects.push(base);
  if (matching.erasureKey) {
    subjects.push(erasedSubject(matching.erasureKey, address.address));
    if (matching.coversSubaddresses && base) subjects.push(erasedSubject(matching.erasureKey, base));
  }
  const labels = address.domain.split('.');
  for (let i = 0; i <= labels.length - 2; i++) subjects.push(`@${labels.slice(i).join('.')}`);
  subjectsOf.set(address, { matching: { ...matching }, subjects });
  return subjects;
}

/**
 * How a refusal is written to the blocked-send log: an erased person's under the keyed hash that
 * refused them, their address taken out of the reason and the reply, so erasure stays erasure.
 */
export function recordedRefusal(
  opposition: Opposition | null,
  recipients: string[],
): { recipient: (address: string) => string; scrub: (text: string) => string } {
  if (opposition?.origin !== 'erasure') return { recipient: (a) => a, scrub: (t) => t };
  const hash = opposition.subject;
  return {
    recipient: () => hash,
    scrub: (text) => recipients.reduce((t, a) => t.split(a).join(hash), text),
  };
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

/** Why an entry blocks, in the words the sender reads: the true reason, by where the entry came from. */
function why(opposition: Opposition, controller: Controller): string {
  const on = opposition.requestedAt.slice(0, 10);
  const company = controller.legalName;
  switch (opposition.origin) {
    case 'hard-bounce':
      return `address is undeliverable (it bounced for good on ${on}); nothing from ${company} is sent to it`;
    case 'soft-bounces':
      return `address is undeliverable (it kept bouncing, up to ${on}); nothing from ${company} is sent to it`;
    case 'complaint':
      return `recipient reported a message from ${company} as spam on ${on}; nothing more is sent to them`;
    case 'unsubscribe-link':
      return `recipient has objected to messages from ${company} (unsubscribed with the link in a message on ${on})`;
    case 'one-click':
      return `recipient has objected to messages from ${company} (unsubscribed with their mailbox's unsubscribe button on ${on})`;
    case 'mailto':
      return `recipient has objected to messages from ${company} (unsubscribed by writing to the unsubscribe address on ${on})`;
    case 'import':
      return `recipient has objected to messages from ${company} (on an opt-out list imported on ${on})`;
    case 'erasure':
      return `recipient has had their data erased by ${company} on ${on} and is not to be contacted again`;
    default:
      return `recipient has objected to messages from ${company}`;
  }
}

/**
 * A recipient on the company's opposition list is never sent to: their own entry, their base
 * address's, or their domain's. The list is read by the caller, who fails closed when it cannot.
 * The reason says which, and why: objected (and how), undeliverable, complained.
 */
export function oppositionVerdict(
  opposition: Opposition | null,
  controller: Controller,
  rawRecipient: string,
): Verdict<OppositionRule> {
  if (!opposition) return ACCEPT;
  if (opposition.subject.startsWith('@')) {
    return reject(
      'opposition:domain',
      `<${rawRecipient}>: the domain ${opposition.subject.slice(1)} has objected to messages from ${controller.legalName}`,
    );
  }
  return reject('opposition:address', `<${rawRecipient}>: ${why(opposition, controller)}`);
}
