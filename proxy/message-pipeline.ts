import { randomBytes } from 'node:crypto';
import type { NormalisedAddress } from '../shared/address.ts';
import { type FairsendConfig, type Language, localise, type SmtpUser } from '../shared/config.ts';
import { SmtpReply, StoreUnavailableError } from '../shared/errors.ts';
import { renderFooter } from '../shared/footer.ts';
import type { Logger } from '../shared/log.ts';
import { buildTemplate, type MessageTemplate, renderCopyParts } from '../shared/mime/rewrite.ts';
import { consumerDomains, evaluateRecipient, type PolicyDecision } from '../shared/policy.ts';
import type { BlockedSendLog } from '../shared/stores/blocked-sends.ts';
import type { Contact, ContactStore } from '../shared/stores/contacts.ts';
import { issueToken } from '../shared/unsubscribe-token.ts';
import { Delivery } from './delivery.ts';
import { type Directives, readDirectives } from './directives.ts';
import { mapBounded } from './rate-limiter.ts';
import type { SubmittedMessage } from './submitted-message.ts';

export interface PipelineInput {
  user: string;
  entry: SmtpUser;
  mailFrom: string;
  recipients: NormalisedAddress[];
  message: SubmittedMessage;
}

/**
 * What happens between the end of DATA and the reply: the message's purpose and directives,
 * the policy per recipient, the first-contact decision, one compliant copy per recipient, and the
 * send. Nothing is half-sent: every refusal happens before the first copy leaves.
 */
export class MessagePipeline {
  private readonly consumers: Set<string>;

  constructor(
    private readonly config: FairsendConfig,
    private readonly contacts: ContactStore,
    private readonly blockedSends: BlockedSendLog,
    private readonly delivery: Delivery,
    private readonly log: Logger,
  ) {
    this.consumers = consumerDomains(config);
  }

  /** The 250 text, or throws the SmtpReply to give. */
  async process(input: PipelineInput): Promise<string> {
    const { config } = this;
    const { entry, message } = input;
    const controller = config.controllers[entry.controller]!;

    const read = readDirectives(message.headers);
    if (!read.ok) throw new SmtpReply(554, '5.6.0', `message refused: ${read.reason}`);
    const directives = read.directives;
    const purposeId = directives.purpose ?? entry.defaultPurpose;
    if (!purposeId) {
      throw new SmtpReply(
        550,
        '5.7.1',
        `no purpose declared: set the X-Fairsend-Purpose header or a defaultPurpose for user ${input.user}`,
      );
    }
    const purpose = Object.hasOwn(config.purposes, purposeId) ? config.purposes[purposeId] : undefined;
    if (!purpose || purpose.controller !== entry.controller) {
      throw new SmtpReply(550, '5.7.1', `purpose "${purposeId}" is not declared for ${controller.legalName}`);
    }

    const addresses = input.recipients.map((r) => r.address);
    const key = Delivery.idempotencyKey(input.user, input.mailFrom, message.raw);
    // Independent reads, in parallel: who these people are, and what a previous attempt already sent.
    const [contacts, alreadySent] = await this.failClosed('contact and send-log lookup', () =>
      Promise.all([this.contacts.getMany(entry.controller, addresses), this.delivery.lookupSent(key, addresses)]),
    );
    const sourceKnown = Boolean(directives.source ?? purpose.dataSource ?? controller.defaultDataSource);

    const decisions = new Map<string, PolicyDecision[]>();
    for (const recipient of input.recipients) {
      const contact = contacts.get(recipient.address);
      const found = evaluateRecipient(
        { recipient, purposeId, purpose, contact, hasDataSource: sourceKnown || Boolean(contact?.source) },
        this.consumers,
      );
      if (found.length > 0) decisions.set(recipient.address, found);
    }
    const blocked = [...decisions].filter(([, list]) => list.some((d) => d.outcome === 'block'));
    if (blocked.length > 0) {
      const [address, list] = blocked[0]!;
      const first = list.find((d) => d.outcome === 'block')!;
      const reply = new SmtpReply(
        550,
        '5.7.1',
        `policy refused ${blocked.length} of ${addresses.length} recipient(s), nothing was sent: <${address}>: ${first.reason}`,
      );
      await this.review(input, purposeId, blocked, reply.toString());
      throw reply;
    }

    const built = await buildTemplate(message.raw, {
      hostname: config.smtp.hostname,
      textMarker: `${config.http.publicBaseUrl}/u/`,
    });
    if (!built.ok) throw new SmtpReply(554, '5.6.0', `message refused: ${built.reason}`);
    const template = built.template;

    const staleMs = config.policy.firstContactClaimHours * 3600_000;
    const firstContact = new Map<string, boolean>();
    await this.failClosed('first-contact claim', () =>
      mapBounded(addresses, 10, async (address) => {
        const known = contacts.get(address)?.firstContactAt;
        firstContact.set(
          address,
          known ? false : await this.contacts.claimFirstContact(entry.controller, address, key, staleMs),
        );
      }),
    );

    const result = await this.delivery.deliver({
      controller: entry.controller,
      purpose: purposeId,
      user: input.user,
      mailFrom: input.mailFrom,
      from: message.from[0]!.address,
      recipients: addresses,
      idempotencyKey: key,
      size: message.raw.length,
      messageId: template.messageId,
      alreadySent,
      onSent: (recipient) =>
        this.contacts.recordContact(
          entry.controller,
          recipient,
          new Date().toISOString(),
          firstContact.get(recipient) ?? false,
        ),
      copyFor: (recipient) =>
        this.copyFor(template, {
          controllerId: entry.controller,
          recipient,
          contact: contacts.get(recipient),
          directives,
          purposeId,
          firstContact: firstContact.get(recipient) ?? false,
        }),
    });

    await Promise.all(
      result.outcomes.map(async (outcome) => {
        try {
          if (outcome.status === 'permanent' && firstContact.get(outcome.recipient)) {
            await this.contacts.releaseFirstContact(entry.controller, outcome.recipient, key);
          }
        } catch (err) {
          this.log.warn('contact.update-failed', { recipient: outcome.recipient, err });
        }
      }),
    );
    const flagged = [...decisions].filter(([address]) =>
      result.outcomes.some((o) => o.recipient === address && o.status === 'sent'),
    );
    if (flagged.length > 0) await this.review(input, purposeId, flagged, undefined);

    this.log.info('smtp.message', {
      user: input.user,
      controller: entry.controller,
      purpose: purposeId,
      recipients: addresses.length,
      result: result.summary,
      reply: result.reply?.toString() ?? '250',
    });
    if (result.reply) throw result.reply;
    const ids = result.outcomes.map((o) => ('sesMessageId' in o ? o.sesMessageId : '')).join(' ');
    return `2.0.0 Ok: ${result.summary} (${ids.length > 200 ? `${ids.slice(0, 200)}...` : ids})`;
  }

  private copyFor(
    template: MessageTemplate,
    input: {
      controllerId: string;
      recipient: string;
      contact: Contact | undefined;
      directives: Directives;
      purposeId: string;
      firstContact: boolean;
    },
  ): { parts: Buffer[]; copyId: string } {
    const { config } = this;
    const controller = config.controllers[input.controllerId]!;
    const purpose = config.purposes[input.purposeId]!;
    const { directives, contact } = input;
    // Precedence: message header > contact record > purpose default > controller default.
    const lang: Language = directives.language ?? contact?.language ?? controller.defaultLanguage;
    const reason =
      directives.reason ??
      contact?.reason ??
      localise(purpose.reason, lang) ??
      (controller.defaultReason ? localise(controller.defaultReason, lang) : '');
    const source = directives.source ?? contact?.source ?? purpose.dataSource ?? controller.defaultDataSource;
    const obtainedAt = directives.source ? directives.sourceDate : (directives.sourceDate ?? contact?.obtainedAt);

    const copyId = randomBytes(9).toString('base64url');
    const token = issueToken(config.tokens, {
      controller: input.controllerId,
      recipient: input.recipient,
      copyId,
      language: lang,
    });
    const unsubscribeUrl = `${config.http.publicBaseUrl}/u/${token}`;
    const footer = renderFooter(controller, lang, {
      legalName: controller.legalName,
      postalAddress: controller.postalAddress,
      contactEmail: controller.contactEmail,
      privacyEmail: controller.privacyEmail ?? controller.contactEmail,
      website: controller.website,
      reason,
      firstContact: input.firstContact,
      source,
      obtainedAt,
      unsubscribeUrl,
    });
    // RFC 2369 (https first, then mailto) and RFC 8058 one-click.
    const targets = [`<${unsubscribeUrl}>`];
    if (config.unsubscribe.mailto) targets.push(`<mailto:${config.unsubscribe.mailto}?subject=unsubscribe%20${token}>`);
    const headers = `List-Unsubscribe: ${targets.join(',\r\n ')}\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n`;
    return { parts: renderCopyParts(template, footer, headers), copyId };
  }

  private async review(
    input: PipelineInput,
    purposeId: string,
    entries: [string, PolicyDecision[]][],
    reply: string | undefined,
  ): Promise<void> {
    const { message } = input;
    await Promise.all(
      entries.flatMap(([recipient, decisions]) =>
        decisions.map((decision) =>
          this.blockedSends
            .record({
              controller: input.entry.controller,
              user: input.user,
              mailFrom: input.mailFrom,
              recipient,
              outcome: decision.outcome === 'block' ? 'blocked' : 'flagged',
              rule: decision.rule,
              reason: decision.reason,
              reply: decision.outcome === 'block' ? reply : undefined,
              purpose: purposeId,
              subject: message.subject,
              messageId: message.messageId,
            })
            .catch((err: unknown) => this.log.error('blocked-send.unrecorded', { recipient, err })),
        ),
      ),
    );
  }

  private async failClosed<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.log.error('store.unavailable', { operation, err });
      throw new SmtpReply(451, '4.3.0', `${operation} unavailable, nothing was sent; try again later`, { cause: err });
    }
  }
}
