import type { NormalisedAddress } from '../address.ts';
import type { FairsendConfig, Purpose } from '../config.ts';
import { CONSUMER_DOMAINS } from '../consumer-domains.ts';
import type { Contact } from '../stores/contacts.ts';
import type { PolicyRule } from '../verdict.ts';

/**
 * Who may be sent what: the CNIL rules that depend on the recipient, evaluated per recipient
 * before anything is sent. Each decision names its rule and says why, for the blocked-send log
 * and the sender's mail client.
 */
export interface PolicyDecision {
  outcome: 'allow' | 'flag' | 'block';
  rule: PolicyRule;
  reason: string;
}

export interface RecipientContext {
  recipient: NormalisedAddress;
  purposeId: string;
  purpose: Purpose;
  contact: Contact | undefined;
  /** A data source is known (message header, contact, purpose or controller). */
  hasDataSource: boolean;
}

export function consumerDomains(config: FairsendConfig): Set<string> {
  return new Set([...(config.policy.consumerDomains ?? CONSUMER_DOMAINS), ...config.policy.extraConsumerDomains]);
}

export function isProfessionalRecord(contact: Contact | undefined): boolean {
  return Boolean(contact && (contact.professional || contact.profession || contact.company));
}

/** All decisions that are not "allow" (blocks first). An empty list means: send. */
export function evaluateRecipient(context: RecipientContext, consumers: Set<string>): PolicyDecision[] {
  const { recipient, purpose, purposeId, contact } = context;
  const decisions: PolicyDecision[] = [];

  if (purpose.legalBasis === 'consent' && !contact?.consent) {
    decisions.push({
      outcome: 'block',
      rule: 'policy:no-consent',
      reason: `purpose ${purposeId} is consent-based and no consent is recorded for this recipient`,
    });
  }

  if (
    purpose.legalBasis === 'legitimate-interest' &&
    consumers.has(recipient.domain) &&
    !isProfessionalRecord(contact)
  ) {
    decisions.push({
      outcome: purpose.consumerMailbox === 'block' ? 'block' : 'flag',
      rule: 'policy:consumer-mailbox',
      reason: `${recipient.domain} is a consumer mailbox and no record says this person is a professional; B2C prospecting needs consent`,
    });
  }

  if (purpose.targetProfessions && contact?.profession) {
    const profession = contact.profession.toLowerCase();
    const matches = purpose.targetProfessions.some((p) => profession.includes(p.toLowerCase()));
    if (!matches) {
      decisions.push({
        outcome: purpose.professionMismatch === 'block' ? 'block' : 'flag',
        rule: 'policy:profession-mismatch',
        reason: `recorded profession "${contact.profession}" is not one purpose ${purposeId} targets (${purpose.targetProfessions.join(', ')})`,
      });
    }
  }

  if (!contact?.firstContactAt && !context.hasDataSource) {
    decisions.push({
      outcome: 'block',
      rule: 'policy:no-data-source',
      reason:
        'first contact needs the origin of the data: set X-Fairsend-Source, record it on the contact, or give the purpose a dataSource',
    });
  }

  return decisions.sort((a, b) => (a.outcome === 'block' ? -1 : 0) - (b.outcome === 'block' ? -1 : 0));
}
