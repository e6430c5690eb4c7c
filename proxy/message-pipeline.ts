import { createHash, type Hash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { NormalisedAddress } from '../shared/address.ts';
import type { FairsendConfig, SmtpUser } from '../shared/config.ts';
import { readDirectives } from '../shared/directives.ts';
import { StoreUnavailableError } from '../shared/errors.ts';
import { renderFooter } from '../shared/footer.ts';
import type { Logger } from '../shared/log.ts';
import { listUnsubscribeHeaders, unsubscribeUrl } from '../shared/mime/list-unsubscribe.ts';
import { buildRefusalNotice, type NotSent } from '../shared/mime/refusal-notice.ts';
import { buildTemplate, type MessageTemplate, renderCopyParts } from '../shared/mime/rewrite.ts';
import { pooledRandomBytes } from '../shared/random-pool.ts';
import { displayNameDecision } from '../shared/rules/envelope.ts';
import { type FooterFacts, footerFacts } from '../shared/rules/footer-facts.ts';
import { matchingFor, oppositionVerdict, recordedRefusal } from '../shared/rules/opposition.ts';
import { resolvePurpose } from '../shared/rules/purpose.ts';
import { consumerDomains, evaluateRecipient, type PolicyDecision } from '../shared/rules/recipient-policy.ts';
import type { BlockedSendLog } from '../shared/stores/blocked-sends.ts';
import type { Contact, ContactStore } from '../shared/stores/contacts.ts';
import type { Stores } from '../shared/stores/index.ts';
import type { OppositionList } from '../shared/stores/opposition-list.ts';
import type { SendLog } from '../shared/stores/send-log.ts';
import { issueToken } from '../shared/unsubscribe-token.ts';
import { defer, type Refusal, type Rule, reject } from '../shared/verdict.ts';
import { type CopyContext, type CopyOutcome, type Delivery, type DeliveryPlan, deliveryVerdict } from './delivery.ts';
import { mapBounded } from './map-bounded.ts';
import { recordRefusal, recordReviews } from './refusal-log.ts';
import type { PreparedCopy } from './ses-sender.ts';
import { replyFor } from './smtp-replies.ts';
import type { SubmittedMessage } from './submitted-message.ts';

export interface PipelineInput {
  user: string;
  entry: SmtpUser;
  mailFrom: string;
  recipients: NormalisedAddress[];
  /** drop-and-notify: recipients refused at RCPT but accepted, with the reply they would have had. */
  dropped?: NotSent[];
  /** Contact records read at RCPT (null: none). A recipient not in it has theirs read at DATA. */
  contacts?: ReadonlyMap<string, Contact | null>;
  message: SubmittedMessage;
  /** `idempotencyKey` of `message.raw`, when already computed (hashed during the upload). */
  idempotencyKey?: string;
}

/** A copy rendered while the end of DATA's read was in flight, and whether as a first contact. */
interface RenderedAhead {
  firstContact: boolean;
  copy: { parts: Buffer[]; copyId: string; prepared?: PreparedCopy };
}

/** Accepted: the text after "250 "; refused: the rule and why. */
export type PipelineResult = { kind: 'accept'; text: string } | Refusal;

/** The submitted message's identity: the same envelope and bytes submitted again is a retry. */
export function idempotencyKey(user: string, mailFrom: string, raw: Buffer): string {
  return idempotencyHash(user, mailFrom).update(raw).digest('base64url');
}

/**
 * `idempotencyKey`'s hash before the message's bytes: the relay feeds it the DATA's chunks as they
 * come, so that the end of DATA does not hash a large message in one go (see `LineScan`); its
 * base64url digest is then the message's key.
 */
export function idempotencyHash(user: string, mailFrom: string): Hash {
  return createHash('sha256').update(user).update('\0').update(mailFrom).update('\0');
}

/**
 * What happens between the end of DATA and the reply, in one pass: the purpose and directives,
 * one batch of reads (copies an earlier attempt already sent, the opposition re-check; the
 * contact records RCPT read come with the input), the policy per recipient, the first-contact
 * claims, then a plan (who gets which copy) that delivery sends, its first copies rendered while
 * the reads are in flight.
 * Nothing is half-sent: every refusal happens before the first copy leaves.
 */
export class MessagePipeline {
  private readonly consumers: Set<string>;

  constructor(
    private readonly config: FairsendConfig,
    private readonly stores: {
      contacts: ContactStore;
      blockedSends: BlockedSendLog;
      sendLog: SendLog;
      oppositions: OppositionList;
      read: Stores['read'];
    },
    private readonly delivery: Delivery,
    private readonly log: Logger,
  ) {
    this.consumers = consumerDomains(config);
  }

  async process(input: PipelineInput): Promise<PipelineResult> {
    const { config } = this;
    const { entry, message } = input;
    const controller = config.controllers[entry.controller]!;

    const refuse = async (refusal: Refusal, purpose?: string) => {
      await recordRefusal(
        this.stores.blockedSends,
        this.log,
        {
          controller: entry.controller,
          user: input.user,
          mailFrom: input.mailFrom,
          recipients: input.recipients.map((r) => r.address),
          subject: message.subject,
          messageId: message.messageId,
          ...(purpose ? { purpose } : {}),
        },
        refusal,
      );
      return refusal;
    };
    const read = readDirectives(message.headers);
    if (!read.ok) return refuse(reject('directive:invalid', `message refused: ${read.reason}`));
    const directives = read.directives;
    const resolved = resolvePurpose(config, input.user, entry, directives);
    if (resolved.kind !== 'accept') return refuse(resolved);
    const { purposeId, purpose } = resolved;

    const addresses = input.recipients.map((r) => r.address);
    const key = input.idempotencyKey ?? idempotencyKey(input.user, input.mailFrom, message.raw);
    const notBefore = new Date(Date.now() - config.ses.idempotencyWindowHours * 3600_000);
    const readAtRcpt = input.contacts ?? new Map<string, Contact | null>();
    // Independent reads, in parallel: what a previous attempt already sent, the opposition list
    // once more, for everyone accepted at RCPT (an objection made while this transaction was open,
    // a slow client, NOOPs, is honoured up to the last moment), and who these people are, for
    // those whose contact record RCPT did not read. One BatchGetItem across the tables: one round trip.
    const reading = this.failClosed('contact, send-log and opposition lookup', () =>
      this.stores.read([
        this.stores.contacts.getManyRequest(
          entry.controller,
          addresses.filter((address) => !readAtRcpt.has(address)),
        ),
        this.stores.sendLog.alreadySentRequest(key, addresses, notBefore),
        this.stores.oppositions.findBlockingRequest(
          entry.controller,
          input.recipients,
          matchingFor(controller, this.config.privacy.erasureKey),
        ),
      ] as const),
    );
    // The template depends on the message alone: built while the reads are in flight, it is off
    // the critical path from DATA to the reply. The reads leave in this turn's batch (a
    // setImmediate, shared/stores/dynamo.ts); the template is built in the next one, once the
    // request is written, not before it: the MIME work (mailsplit's streams, parse5) runs in
    // microtasks, which would otherwise all run before the batch goes out. Awaited where it is
    // used (an error surfaces there).
    //
    // The first copies to go out are rendered then too (`renderAhead`), with the contact records
    // RCPT read, and their SES requests built and signed: the reply then waits on the read, the
    // SES calls and the send log's write, not on rendering and signing as well. A copy whose
    // recipient turns out not to be sent to is dropped, its request never sent; one rendered as a
    // first contact whose claim then fails (another message made it meanwhile) is rendered again,
    // and its request made when it is sent.
    //
    // What each footer will say, decided once (here for those whose record RCPT read, after the
    // read for the others): the policy asks whether a source is known, the copy says it.
    const factsOf = new Map<string, FooterFacts>();
    for (const [address, contact] of readAtRcpt) {
      factsOf.set(address, footerFacts(controller, purpose, contact ?? undefined, directives));
    }
    const context: CopyContext = {
      controller: entry.controller,
      purpose: purposeId,
      user: input.user,
      from: message.from[0]!.address,
    };
    const ahead = new Map<string, RenderedAhead>();
    const building = nextTurn()
      .then(() => buildTemplate(message.raw, { hostname: config.smtp.hostname }))
      .then((built) => {
        if (built.ok) {
          this.renderAhead(built.template, ahead, {
            context,
            recipients: addresses
              .filter((address) => readAtRcpt.has(address))
              .slice(0, this.delivery.concurrencyFor(message.raw.length)),
            factsOf,
            firstContactOf: (address) => !readAtRcpt.get(address)?.firstContactAt,
          });
        }
        return built;
      });
    building.catch(() => {}); // when the message is refused before it is used
    const reads = await reading;
    if (reads.kind === 'defer') return reads;
    const [readAtData, alreadySent, opposed] = reads.value;
    const contacts = new Map(readAtData);
    for (const [address, contact] of readAtRcpt) if (contact) contacts.set(address, contact);

    const dropMode = entry.refusalMode === 'drop-and-notify';
    const notSent: NotSent[] = [...(input.dropped ?? [])];
    let recipients = input.recipients;
    if (opposed.size > 0) {
      const reviews = [...opposed].map(([recipient, opposition]) => ({
        recipient,
        verdict: oppositionVerdict(opposition, controller, recipient) as Refusal,
        recorded: recordedRefusal(opposition, [recipient]),
      }));
      const first = reviews[0]!.verdict;
      const refusal = { ...first, reason: `${first.reason} (since RCPT); nothing was sent` };
      await this.review(
        input,
        purposeId,
        reviews.map(({ recipient, verdict, recorded }) => ({
          recipient: recorded.recipient(recipient),
          outcome: 'blocked' as const,
          rule: verdict.rule,
          reason: recorded.scrub(verdict.reason),
        })),
        reviews.reduce((text, r) => r.recorded.scrub(text), replyFor(refusal).toString()),
      );
      if (!dropMode) return refusal;
      for (const { recipient, verdict } of reviews) {
        notSent.push({
          recipient,
          reply: replyFor({ ...verdict, reason: `${verdict.reason} (since RCPT)` }).toString(),
        });
      }
      recipients = recipients.filter((r) => !opposed.has(r.address));
    }

    const displayName = displayNameDecision(message.fromMailboxes, config.policy.addressLikeDisplayName);
    const decisions = new Map<string, PolicyDecision[]>();
    for (const recipient of recipients) {
      const contact = contacts.get(recipient.address);
      let facts = factsOf.get(recipient.address);
      if (!facts) {
        facts = footerFacts(controller, purpose, contact, directives);
        factsOf.set(recipient.address, facts);
      }
      const found = evaluateRecipient(
        { recipient, purposeId, purpose, contact, hasDataSource: Boolean(facts.source) },
        this.consumers,
      );
      if (displayName) found.push(displayName);
      if (found.length > 0) decisions.set(recipient.address, found);
    }
    const blocked = [...decisions].filter(([, list]) => list.some((d) => d.outcome === 'block'));
    if (blocked.length > 0 && !dropMode) {
      const [address, list] = blocked[0]!;
      const first = list.find((d) => d.outcome === 'block')!;
      const refusal = reject(
        first.rule,
        `policy refused ${blocked.length} of ${addresses.length} recipient(s), nothing was sent: <${address}>: ${first.reason}`,
      );
      await this.review(input, purposeId, policyReviews(blocked), replyFor(refusal).toString());
      return refusal;
    }
    if (blocked.length > 0) {
      // drop-and-notify: the blocked recipients are left out, the others are sent to.
      for (const [address, list] of blocked) {
        const first = list.find((d) => d.outcome === 'block')!;
        const reply = replyFor(reject(first.rule, `<${address}>: ${first.reason}`)).toString();
        notSent.push({ recipient: address, reply });
        await this.review(input, purposeId, policyReviews([[address, list]]), reply);
        decisions.delete(address);
      }
      const left = new Set(blocked.map(([address]) => address));
      recipients = recipients.filter((r) => !left.has(r.address));
    }
    const sendTo = recipients.map((r) => r.address);

    const built = await building;
    if (!built.ok) return refuse(reject('message:malformed', `message refused: ${built.reason}`), purposeId);
    const template = built.template;

    const staleMs = config.policy.firstContactClaimHours * 3600_000;
    const claims = await this.failClosed('first-contact claim', () =>
      mapBounded(sendTo, 10, async (address) =>
        contacts.get(address)?.firstContactAt
          ? false
          : this.stores.contacts.claimFirstContact(entry.controller, address, key, staleMs),
      ),
    );
    if (claims.kind === 'defer') return claims;
    const firstContact = new Map(sendTo.map((address, i) => [address, claims.value[i]!]));

    const plan: DeliveryPlan = {
      ...context,
      messageId: template.messageId,
      ...(input.message.subject !== undefined ? { subject: input.message.subject } : {}),
      idempotencyKey: key,
      size: message.raw.length,
      copies: sendTo.map((recipient) => ({
        recipient,
        alreadySent: alreadySent.get(recipient),
        render: () => {
          const facts = factsOf.get(recipient)!;
          const first = firstContact.get(recipient) ?? false;
          const early = ahead.get(recipient);
          ahead.delete(recipient);
          if (early?.firstContact === first) return early.copy;
          return this.copyFor(template, { controllerId: entry.controller, recipient, facts, firstContact: first });
        },
      })),
    };
    const outcomes = await this.delivery.send(plan);
    await this.afterDelivery(entry.controller, key, outcomes, firstContact);

    const flagged = [...decisions].filter(([address]) =>
      outcomes.some((o) => o.recipient === address && o.status === 'sent'),
    );
    if (flagged.length > 0) {
      await this.review(input, purposeId, policyReviews(flagged), undefined, template.messageId);
    }

    // drop-and-notify: copies SES refused for good go into the notice too; the others stay sent.
    const kept = dropMode ? outcomes.filter((o) => o.status !== 'permanent') : outcomes;
    if (dropMode) {
      for (const o of outcomes) {
        if (o.status === 'permanent')
          notSent.push({ recipient: o.recipient, reply: `554 5.7.1 <${o.recipient}>: ${o.reason}` });
      }
    }
    const { verdict, summary } = deliveryVerdict(kept);
    this.log.info('smtp.message', {
      user: input.user,
      controller: entry.controller,
      purpose: purposeId,
      recipients: addresses.length + (input.dropped?.length ?? 0),
      result: summary,
      notSent: notSent.length,
      reply: verdict.kind === 'accept' ? '250' : replyFor(verdict).toString(),
    });
    if (verdict.kind !== 'accept') return verdict;
    let noticeText = '';
    if (notSent.length > 0) {
      const sent = await this.notify(input, notSent, kept.length, template.messageId);
      if (sent.kind === 'defer') return sent;
      noticeText = `; ${notSent.length} not sent, notice sent to <${input.mailFrom}>`;
    }
    const ids = kept.map((o) => ('sesMessageId' in o ? o.sesMessageId : '')).join(' ');
    return {
      kind: 'accept',
      text: `2.0.0 Ok: ${summary}${noticeText} (${ids.length > 200 ? `${ids.slice(0, 200)}...` : ids})`,
    };
  }

  /**
   * The notice to the sender of what was not sent (drop-and-notify). It is Fairsend's part of the
   * 250: if it cannot be handed to SES, the client is told to retry (the copies already sent are
   * not sent again).
   */
  private async notify(
    input: PipelineInput,
    notSent: NotSent[],
    sentCount: number,
    messageId: string,
  ): Promise<{ kind: 'ok' } | Refusal<'ses:temporary'>> {
    const controller = this.config.controllers[input.entry.controller]!;
    const domain = input.mailFrom.split('@')[1] ?? this.config.smtp.hostname;
    const raw = buildRefusalNotice({
      language: controller.defaultLanguage,
      from: `mailer-daemon@${domain}`,
      to: input.mailFrom,
      hostname: this.config.smtp.hostname,
      subject: input.message.subject,
      messageId,
      originalHeaders: input.message.headerBytes,
      notSent,
      sentCount,
      at: new Date(),
    });
    try {
      await this.delivery.sendNotice({
        from: `mailer-daemon@${domain}`,
        to: input.mailFrom,
        raw,
        controller: input.entry.controller,
        user: input.user,
      });
      return { kind: 'ok' };
    } catch (err) {
      this.log.error('notice.unsent', { to: input.mailFrom, err });
      return defer('ses:temporary', 'the notice of recipients not sent to could not be sent; try again later');
    }
  }

  /**
   * The contact records follow what SES took: first contact for the copies that carried the
   * notice (the others write nothing: the send log is the history); a claim whose copy SES
   * refused for good is released, so the next message carries the notice.
   */
  private async afterDelivery(
    controller: string,
    key: string,
    outcomes: CopyOutcome[],
    firstContact: Map<string, boolean>,
  ): Promise<void> {
    const now = new Date().toISOString();
    await Promise.all(
      outcomes.map(async (outcome) => {
        const claimed = firstContact.get(outcome.recipient) ?? false;
        try {
          if (outcome.status === 'sent' && claimed) {
            await this.stores.contacts.recordFirstContact(controller, outcome.recipient, now);
          } else if (outcome.status === 'permanent' && claimed) {
            await this.stores.contacts.releaseFirstContact(controller, outcome.recipient, key);
          }
        } catch (err) {
          this.log.warn('contact.update-failed', { recipient: outcome.recipient, err });
        }
      }),
    );
  }

  /**
   * Renders the copies of `recipients` before the end of DATA's read is back, each with its
   * footer's facts and as a first contact if its record has none yet (the claim then made is what
   * normally follows), and has delivery build and sign their SES requests (nothing is sent before
   * the read says to). Best effort: a copy that cannot be rendered here is rendered, or fails,
   * when it is sent.
   */
  private renderAhead(
    template: MessageTemplate,
    into: Map<string, RenderedAhead>,
    input: {
      context: CopyContext;
      recipients: string[];
      factsOf: ReadonlyMap<string, FooterFacts>;
      firstContactOf: (address: string) => boolean;
    },
  ): void {
    const { context } = input;
    for (const recipient of input.recipients) {
      const facts = input.factsOf.get(recipient)!;
      const firstContact = input.firstContactOf(recipient);
      try {
        const copy = this.copyFor(template, { controllerId: context.controller, recipient, facts, firstContact });
        const prepared = this.delivery.prepare(context, recipient, copy.parts);
        into.set(recipient, { firstContact, copy: prepared ? { ...copy, prepared } : copy });
      } catch {
        return;
      }
    }
  }

  private copyFor(
    template: MessageTemplate,
    input: {
      controllerId: string;
      recipient: string;
      facts: FooterFacts;
      firstContact: boolean;
    },
  ): { parts: Buffer[]; copyId: string } {
    const { config } = this;
    const controller = config.controllers[input.controllerId]!;
    const { facts } = input;
    const copyId = pooledRandomBytes(9).toString('base64url');
    const token = issueToken(config.tokens, {
      controller: input.controllerId,
      recipient: input.recipient,
      copyId,
      language: facts.language,
    });
    const url = unsubscribeUrl(config.http.publicBaseUrl, token);
    const footer = renderFooter(controller, facts.language, {
      legalName: controller.legalName,
      postalAddress: controller.postalAddress,
      contactEmail: controller.contactEmail,
      privacyEmail: controller.privacyEmail ?? controller.contactEmail,
      website: controller.website,
      reason: facts.reason,
      firstContact: input.firstContact,
      source: facts.source,
      obtainedAt: facts.obtainedAt,
      unsubscribeUrl: url,
    });
    const headers = listUnsubscribeHeaders(url, config.unsubscribe.mailto, token);
    // The token is all that differs between the copies' footers: the rest is encoded once.
    return { parts: renderCopyParts(template, footer, headers, token), copyId };
  }

  private review(
    input: PipelineInput,
    purposeId: string,
    entries: { recipient: string; outcome: 'blocked' | 'flagged'; rule: Rule; reason: string }[],
    reply: string | undefined,
    /** The Message-ID the copies went out with (Fairsend's own when the client sent none). */
    messageId = input.message.messageId,
  ): Promise<void> {
    return recordReviews(
      this.stores.blockedSends,
      this.log,
      {
        controller: input.entry.controller,
        user: input.user,
        mailFrom: input.mailFrom,
        purpose: purposeId,
        subject: input.message.subject,
        messageId,
      },
      entries.map((entry) => ({ ...entry, ...(reply ? { reply } : {}) })),
    );
  }

  /** A store that cannot be read means we cannot know: nothing is sent, the client retries. */
  private async failClosed<T>(
    operation: string,
    run: () => Promise<T>,
  ): Promise<{ kind: 'ok'; value: T } | Refusal<'store:unavailable'>> {
    try {
      return { kind: 'ok', value: await run() };
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.log.error('store.unavailable', { operation, err });
      return defer('store:unavailable', `${operation} unavailable, nothing was sent; try again later`);
    }
  }
}

function policyReviews(entries: [string, PolicyDecision[]][]) {
  return entries.flatMap(([recipient, decisions]) =>
    decisions.map((d) => ({
      recipient,
      outcome: d.outcome === 'block' ? ('blocked' as const) : ('flagged' as const),
      rule: d.rule,
      reason: d.reason,
    })),
  );
}
