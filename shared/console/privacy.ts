import { randomBytes } from 'node:crypto';
import { normaliseAddress } from '../address.ts';
import type { FairsendConfig } from '../config.ts';
import { calendarDate } from '../dates.ts';
import { erasedEntry } from '../erased.ts';
import { maskAddress } from '../french.ts';
import { expiresAfter, retentionOf } from '../retention.ts';
import { erasedSubject } from '../rules/opposition.ts';
import type { PrivacyRequest } from '../stores/admin.ts';
import type { AuditEntry, NewAuditEntry } from '../stores/audit.ts';
import { type BlockedSend, blockedSendSchema } from '../stores/blocked-sends.ts';
import { type Contact, contactSchema } from '../stores/contacts.ts';
import type { Stores } from '../stores/index.ts';
import type { Opposition } from '../stores/opposition-list.ts';
import { type CopyEvent, type SentCopy, sentCopySchema } from '../stores/send-log.ts';
import { type Actor, ForbiddenError, InputError } from './actor.ts';

/**
 * The DPO's side of the service layer: data-subject requests (access, erasure) and their register.
 * Console, JSON API and CLI call it, like the rest of `ConsoleService`.
 *
 * Erasure is opposition plus forgetting: the person's contact record, copies sent, SES events and
 * blocked sends are deleted, and their opposition is kept under a keyed hash of their address
 * (`erasedSubject`), which the RCPT check, the re-check before sending and both CSV imports
 * recognise, so they are never written to again while their address is stored nowhere.
 */
export interface PersonReport {
  controller: string;
  legalName: string;
  privacyEmail: string;
  addresses: string[];
  erased: boolean;
  contacts: Contact[];
  sent: (SentCopy & { events: CopyEvent[] })[];
  blocked: BlockedSend[];
  oppositions: Opposition[];
  audit: AuditEntry[];
  requests: PrivacyRequest[];
}

export interface AccessReport {
  generatedAt: string;
  address: string;
  controllers: PersonReport[];
}

export interface ErasureReport {
  controller: string;
  addresses: number;
  contacts: number;
  sendLog: number;
  blocked: number;
  oppositionsKept: number;
}

export const REQUEST_INPUT_KINDS = ['access', 'erasure', 'objection', 'rectification'] as const;

export class PrivacyService {
  constructor(
    private readonly config: FairsendConfig,
    private readonly stores: Stores,
  ) {}

  private audit(actor: Actor, entry: Omit<NewAuditEntry, 'actor' | 'via'>) {
    return this.stores.audit.append({ actor: actor.name, via: actor.via, ...entry });
  }

  private key(): string {
    const key = this.config.privacy.erasureKey;
    if (!key) throw new InputError('privacy.erasureKey is not configured: erasure and request tracking need it');
    return key;
  }

  private controllersFor(id: string | undefined): string[] {
    const all = Object.keys(this.config.controllers);
    if (!id) return all;
    if (!this.config.controllers[id]) throw new InputError(`unknown controller "${id}" (known: ${all.join(', ')})`);
    return [id];
  }

  private address(text: string): string {
    const address = normaliseAddress(text);
    if (!address) throw new InputError(`"${text}" is not an address`);
    return address.address;
  }

  /** The keyed hash a request and an erased opposition know the person by. */
  subjectHash(address: string): string {
    return erasedSubject(this.key(), address);
  }

  /** The erased-person entry that covers this address, if any. */
  erasedEntry(controller: string, address: string): Promise<Opposition | undefined> {
    return erasedEntry(this.stores.oppositions, this.config, controller, address);
  }

  // Access (art. 15)

  async access(controllerId: string | undefined, text: string): Promise<AccessReport> {
    const address = this.address(text);
    const reports: PersonReport[] = [];
    const requests = this.config.privacy.erasureKey ? await this.stores.admin.requests() : [];
    for (const controller of this.controllersFor(controllerId)) {
      const c = this.config.controllers[controller]!;
      const found = await this.stores.person.find(controller, address);
      const sentItems = found.sendLog.filter((i) => String(i.sk).startsWith('sent#'));
      const eventItems = found.sendLog.filter((i) => !String(i.sk).startsWith('sent#'));
      const oppositions = new Map<string, Opposition>();
      for (const a of found.addresses) {
        for (const o of (await this.stores.oppositions.search(controller, a)).items) oppositions.set(o.subject, o);
      }
      const erased = await this.erasedEntry(controller, address);
      if (erased) oppositions.set(erased.subject, erased);
      const audit: AuditEntry[] = [];
      for (const a of found.addresses)
        audit.push(...(await this.stores.audit.list({ controller, target: a, limit: 200 })).items);
      const hashes = this.config.privacy.erasureKey
        ? new Set(found.addresses.map((a) => this.subjectHash(a)))
        : new Set();
      reports.push({
        controller,
        legalName: c.legalName,
        privacyEmail: c.privacyEmail ?? c.contactEmail,
        addresses: found.addresses,
        erased: Boolean(erased),
        contacts: found.contacts.map((i) => contactSchema.parse(i)),
        sent: sentItems
          .map((i) => sentCopySchema.parse(i))
          .sort((a, b) => b.at.localeCompare(a.at))
          .map((copy) => ({
            ...copy,
            events: eventItems
              .filter((e) => e.sesMessageId === copy.sesMessageId && e.recipient === copy.recipient)
              .map((e) => ({
                kind: e.kind as CopyEvent['kind'],
                at: String(e.at),
                ...(e.detail ? { detail: String(e.detail) } : {}),
              })),
          })),
        blocked: found.blocked.map((i) => blockedSendSchema.parse(i)).sort((a, b) => b.at.localeCompare(a.at)),
        oppositions: [...oppositions.values()],
        audit: audit.sort((a, b) => b.at.localeCompare(a.at)),
        requests: requests.filter((r) => r.controller === controller && hashes.has(r.subjectHash)),
      });
    }
    return { generatedAt: new Date().toISOString(), address, controllers: reports };
  }

  // Erasure (art. 17)

  async erase(
    actor: Actor,
    controllerId: string | undefined,
    text: string,
    why: { requestId?: string; reason?: string },
  ): Promise<ErasureReport[]> {
    if (actor.role !== 'admin') throw new ForbiddenError(`${actor.name} is a reviewer: only an admin may erase`);
    const key = this.key();
    const address = this.address(text);
    const request = why.requestId ? await this.stores.admin.request(why.requestId) : undefined;
    if (why.requestId && !request) throw new InputError(`no request ${why.requestId}`);
    if (request && request.subjectHash !== this.subjectHash(address)) {
      throw new InputError(`request ${request.id} is about another address (${request.subjectMasked})`);
    }
    if (!request && (why.reason?.trim().length ?? 0) < 10) {
      throw new InputError('say why: the request it answers (--request ID), or a reason of at least 10 characters');
    }
    const reports: ErasureReport[] = [];
    for (const controller of request ? [request.controller] : this.controllersFor(controllerId)) {
      const found = await this.stores.person.find(controller, address);
      const now = new Date().toISOString();
      // The opposition first: from this instant on, nothing goes to them, whatever happens next.
      const previous: Opposition[] = [];
      for (const a of found.addresses) {
        const entry = await this.stores.oppositions.get(controller, a);
        if (entry) previous.push(entry);
      }
      const earliest = previous.map((p) => p.requestedAt).sort()[0];
      for (const a of found.addresses) {
        await this.stores.oppositions.add({
          controller,
          subject: erasedSubject(key, a),
          origin: 'erasure',
          requestedAt: request?.receivedAt ?? now,
          effectiveAt: now,
          evidence: {
            ...(request ? { request: request.id } : {}),
            by: actor.name,
            ...(earliest ? { objectedSince: earliest } : {}),
            ...(previous.length > 0 ? { previousOrigins: [...new Set(previous.map((p) => p.origin))].join(' ') } : {}),
          },
        });
      }
      for (const entry of previous) await this.stores.oppositions.remove(controller, entry.subject);
      const counts = await this.stores.person.erase(found);
      const report = {
        controller,
        addresses: found.addresses.length,
        ...counts,
        oppositionsKept: found.addresses.length,
      };
      reports.push(report);
      await this.audit(actor, {
        action: 'privacy.erasure',
        controller,
        // Never the address: the request's id, or the keyed hash.
        target: request?.id ?? erasedSubject(key, address),
        ...(why.reason ? { reason: why.reason.trim().slice(0, 1000) } : {}),
        details: Object.fromEntries(Object.entries(report).map(([k, v]) => [k, String(v)])),
      });
    }
    if (request && request.status === 'open') {
      const total = reports.reduce((n, r) => n + r.contacts + r.sendLog + r.blocked, 0);
      await this.close(actor, request.id, 'done', `erased: ${total} items; opposition kept as a keyed hash`);
    }
    return reports;
  }

  // The register of requests

  async createRequest(
    actor: Actor,
    input: { controller?: string; kind: string; address: string; receivedAt?: string; channel?: string; note?: string },
  ): Promise<PrivacyRequest> {
    if (actor.role !== 'admin')
      throw new ForbiddenError(`${actor.name} is a reviewer: only an admin may record a request`);
    const [controller] = this.controllersFor(input.controller || Object.keys(this.config.controllers)[0]);
    if (!(REQUEST_INPUT_KINDS as readonly string[]).includes(input.kind)) {
      throw new InputError(`kind: one of ${REQUEST_INPUT_KINDS.join(', ')}`);
    }
    const address = this.address(input.address);
    if (input.receivedAt && !calendarDate.safeParse(input.receivedAt).success) {
      throw new InputError(`receivedAt: the date the request arrived, YYYY-MM-DD, not "${input.receivedAt}"`);
    }
    const received = input.receivedAt ? new Date(`${input.receivedAt}T12:00:00Z`) : new Date();
    if (received.getTime() > Date.now() + 86_400_000) {
      throw new InputError('receivedAt: the date the request arrived, YYYY-MM-DD, not in the future');
    }
    const request: PrivacyRequest = {
      id: `${received.toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`,
      controller: controller!,
      kind: input.kind as PrivacyRequest['kind'],
      subjectHash: this.subjectHash(address),
      subjectMasked: maskAddress(address),
      receivedAt: received.toISOString(),
      deadline: new Date(received.getTime() + this.config.privacy.answerWithinDays * 86_400_000).toISOString(),
      ...(input.channel?.trim() ? { channel: input.channel.trim().slice(0, 200) } : {}),
      ...(input.note?.trim() ? { note: input.note.trim().slice(0, 1000) } : {}),
      status: 'open',
      createdBy: actor.name,
    };
    await this.stores.admin.putRequest(request);
    await this.audit(actor, {
      action: 'privacy.request',
      controller: request.controller,
      target: request.id,
      details: { kind: request.kind, subject: request.subjectMasked, deadline: request.deadline.slice(0, 10) },
    });
    return request;
  }

  /** Open requests first, by deadline; then the others, newest first. */
  async requests(): Promise<(PrivacyRequest & { dueIn: number })[]> {
    const now = Date.now();
    return (await this.stores.admin.requests())
      .map((r) => ({ ...r, dueIn: Math.ceil((Date.parse(r.extension?.until ?? r.deadline) - now) / 86_400_000) }))
      .sort((a, b) =>
        a.status === 'open' && b.status === 'open'
          ? a.dueIn - b.dueIn
          : a.status === 'open'
            ? -1
            : b.status === 'open'
              ? 1
              : b.receivedAt.localeCompare(a.receivedAt),
      );
  }

  /** An open request an admin may act on, or the error that says why not. */
  private async openRequest(actor: Actor, id: string, what: string): Promise<PrivacyRequest> {
    if (actor.role !== 'admin')
      throw new ForbiddenError(`${actor.name} is a reviewer: only an admin may ${what} a request`);
    const request = await this.stores.admin.request(id);
    if (!request) throw new InputError(`no request ${id}`);
    if (request.status !== 'open') throw new InputError(`request ${id} is already ${request.status}`);
    return request;
  }

  async extend(actor: Actor, id: string, reason: string, days?: number): Promise<PrivacyRequest> {
    const request = await this.openRequest(actor, id, 'extend');
    if (request.extension)
      throw new InputError(`request ${id} was already extended (to ${request.extension.until.slice(0, 10)})`);
    if (reason.trim().length < 10)
      throw new InputError('an extension needs its reason (art. 12(3): the person must be told why)');
    const add = Math.min(days ?? this.config.privacy.extensionDays, this.config.privacy.extensionDays);
    const extended = {
      ...request,
      extension: {
        until: new Date(Date.parse(request.deadline) + add * 86_400_000).toISOString(),
        reason: reason.trim(),
        by: actor.name,
      },
    };
    await this.stores.admin.putRequest(extended);
    await this.audit(actor, {
      action: 'privacy.extend',
      controller: request.controller,
      target: id,
      reason: reason.trim(),
      details: { until: extended.extension.until.slice(0, 10) },
    });
    return extended;
  }

  async close(actor: Actor, id: string, status: 'done' | 'refused', outcome: string): Promise<PrivacyRequest> {
    const request = await this.openRequest(actor, id, 'close');
    if (outcome.trim().length < 3) throw new InputError('say how it was answered');
    const now = new Date().toISOString();
    const closed: PrivacyRequest = {
      ...request,
      status,
      closedAt: now,
      closedBy: actor.name,
      outcome: outcome.trim().slice(0, 1000),
    };
    await this.stores.admin.putRequest(closed, expiresAfter(now, { months: retentionOf(this.config).requestsMonths }));
    await this.audit(actor, {
      action: `privacy.${status}`,
      controller: request.controller,
      target: id,
      reason: closed.outcome,
    });
    return closed;
  }
}
