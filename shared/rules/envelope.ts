import { matchesSenderPattern, type NormalisedAddress, normaliseAddress } from '../address.ts';
import type { SmtpUser } from '../config.ts';
import { addressLikeName, type Mailbox } from '../mailbox-list.ts';
import { ACCEPT, defer, type RecipientRule, type Refusal, reject, type SenderRule, type Verdict } from '../verdict.ts';
import type { PolicyDecision } from './recipient-policy.ts';

/**
 * Who may send as whom, and which recipients a transaction may name: the rules of the envelope
 * (MAIL FROM, RCPT TO) and of the header senders (From, Sender), before any content is read.
 */
export function allowedFor(user: SmtpUser, address: NormalisedAddress): boolean {
  return user.allowedFrom.some((pattern) => matchesSenderPattern(address, pattern));
}

export function checkEnvelopeSender(
  user: SmtpUser,
  userName: string,
  raw: string,
): { kind: 'accept'; address: NormalisedAddress } | Refusal<SenderRule> {
  const address = normaliseAddress(raw);
  if (!address) return reject('sender:invalid', `<${raw}>: not a valid sender address`);
  if (!allowedFor(user, address)) {
    return reject('sender:not-allowed', `<${raw}>: sender address not allowed for user ${userName}`);
  }
  return { kind: 'accept', address };
}

/** Every header From and Sender address must be one the user may send as. */
export function checkHeaderSenders(
  user: SmtpUser,
  userName: string,
  addresses: NormalisedAddress[],
): Verdict<SenderRule> {
  const stranger = addresses.find((address) => !allowedFor(user, address));
  if (!stranger) return ACCEPT;
  return reject('header-from:not-allowed', `header From/Sender <${stranger.address}> not allowed for user ${userName}`);
}

export function checkRecipient(
  raw: string,
  alreadyAccepted: number,
  maxRecipients: number,
): { kind: 'accept'; address: NormalisedAddress } | Refusal<RecipientRule> {
  if (alreadyAccepted >= maxRecipients) {
    return defer('recipient:too-many', `too many recipients: at most ${maxRecipients} per message`);
  }
  const address = normaliseAddress(raw);
  if (!address) return reject('recipient:invalid', `<${raw}>: not a valid recipient address`);
  return { kind: 'accept', address };
}

/**
 * A From display name that is itself an address at another domain is how impersonation reads
 * in a mail client that shows names only: flagged for review (or refused, per
 * `policy.addressLikeDisplayName`), for every recipient of the message.
 */
export function displayNameDecision(mailboxes: Mailbox[], mode: 'warn' | 'block' | 'off'): PolicyDecision | null {
  if (mode === 'off') return null;
  for (const mailbox of mailboxes) {
    const shown = addressLikeName(mailbox);
    if (shown) {
      return {
        outcome: mode === 'block' ? 'block' : 'flag',
        rule: 'policy:display-name-address',
        reason: `the From display name shows the address ${shown}, at another domain than the sender <${mailbox.address.address}>`,
      };
    }
  }
  return null;
}
