import { Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { normaliseAddress, normaliseDomain } from '../address.ts';
import { type FairsendConfig, senderPattern, smtpUserProblems } from '../config.ts';
import { importContacts } from '../contacts-import.ts';
import { calendarDate } from '../dates.ts';
import { erasedEntries } from '../erased.ts';
import { hashPassword, newPassword } from '../password.ts';
import { mergeUsers } from '../smtp-users.ts';
import type { AdminRole, ManagedSmtpUser, SmtpLogins } from '../stores/admin.ts';
import type { AuditEntry } from '../stores/audit.ts';
import type { BlockedSend, BlockedSendFilter, DailyCount } from '../stores/blocked-sends.ts';
import { type Contact, type ContactDetails, contactSchema } from '../stores/contacts.ts';
import type { Page } from '../stores/dynamo.ts';
import type { Stores } from '../stores/index.ts';
import { domainSubject, type Opposition } from '../stores/opposition-list.ts';
import type { CopyEvent, CopyEventKind, SentCopy, SentFilter } from '../stores/send-log.ts';
import { type Actor, ForbiddenError, InputError } from './actor.ts';
import { csvLine, unguarded } from './csv.ts';
import { PrivacyService } from './privacy.ts';
import { RegisterService } from './register.ts';

/**
 * The one service layer the console, the JSON API and the CLI call: every read the admin does and
 * every change, with the role each needs and an audit entry for each change. The HTTP handler and
 * the CLI only parse input and present output.
 */
export { type Actor, ForbiddenError, InputError } from './actor.ts';

export interface Overview {
  controller: string;
  from: string;
  to: string;
  sent: number;
  events: Record<CopyEventKind, number>;
  blocked: number;
  flagged: number;
  openReviews: number;
  /** Hard bounces and complaints per copy sent, against SES's review thresholds. */
  bounceRate: number;
  complaintRate: number;
  byRule: Record<string, number>;
  daily: DailyCount[];
}

export const SES_THRESHOLDS = { bounceRate: 0.05, complaintRate: 0.001 };

export interface SentRow extends SentCopy {
  events: CopyEvent[];
  /** The most telling event: a complaint over a bounce over a delivery; `sent` when none yet. */
  status: CopyEventKind | 'sent';
}

export interface SmtpUserView {
  name: string;
  source: 'config' | 'console';
  controller: string;
  allowedFrom: string[];
  defaultPurpose?: string;
  refusalMode: 'reject' | 'drop-and-notify';
  disabled: boolean;
  updatedAt?: string;
  updatedBy?: string;
  logins?: SmtpLogins;
}

export const smtpUserInput = z.object({
  name: z.string().regex(/^[A-Za-z0-9._@+-]{1,128}$/, 'letters, digits and . _ @ + - only (at most 128)'),
  controller: z.string().min(1, 'pick a controller'),
  allowedFrom: z.array(senderPattern).min(1, 'give at least one allowed sender (an address or a domain)'),
  defaultPurpose: z.string().optional(),
  refusalMode: z.enum(['reject', 'drop-and-notify']).default('reject'),
  disabled: z.boolean().default(false),
});
export type SmtpUserInput = z.input<typeof smtpUserInput>;

export interface ImportReport {
  rows: number;
  added: number;
  existing: number;
  refused: { line: number; value: string; reason: string }[];
}

const EVENT_RANK: CopyEventKind[] = ['delivered', 'soft-bounced', 'bounced', 'suppressed', 'complained'];

function erasedRefusal(entry: Opposition): string {
  return `this person had their data erased on ${entry.effectiveAt.slice(0, 10)} and is not to be contacted again: nothing about them is recorded`;
}

/**
 * The blocked-send filters a person gives (console query string, CLI options): dates as
 * YYYY-MM-DD, `to` inclusive, addresses lower-cased. `label` names a field as the person typed it.
 */
export function blockedSendFilter(
  controller: string,
  input: {
    from?: string | undefined;
    to?: string | undefined;
    user?: string | undefined;
    sender?: string | undefined;
    recipient?: string | undefined;
    rule?: string | undefined;
    outcome?: string | undefined;
    open?: boolean | undefined;
  },
  label: (field: string) => string = (field) => field,
): BlockedSendFilter {
  const day = (field: 'from' | 'to') => {
    const v = input[field];
    if (!v) return undefined;
    if (!calendarDate.safeParse(v).success) {
      throw new InputError(`${label(field)} takes a date as YYYY-MM-DD, not "${v}"`);
    }
    return field === 'to' ? new Date(Date.parse(v) + 86_400_000).toISOString().slice(0, 10) : v;
  };
  if (input.outcome && input.outcome !== 'blocked' && input.outcome !== 'flagged') {
    throw new InputError(`${label('outcome')} is blocked or flagged`);
  }
  const from = day('from');
  const to = day('to');
  return {
    controller,
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(input.user ? { user: input.user } : {}),
    ...(input.sender ? { sender: input.sender.toLowerCase() } : {}),
    ...(input.recipient ? { recipient: input.recipient.toLowerCase() } : {}),
    ...(input.rule ? { rule: input.rule } : {}),
    ...(input.outcome ? { outcome: input.outcome as 'blocked' | 'flagged' } : {}),
    ...(input.open ? { openReviews: true } : {}),
  };
}

/** An address, or `@domain`, normalised; null when it is neither. */
export function oppositionSubject(text: string): string | null {
  const t = unguarded(text.trim());
  if (t.startsWith('@')) {
    const domain = normaliseDomain(t.slice(1));
    return domain ? domainSubject(domain) : null;
  }
  return normaliseAddress(t)?.address ?? null;
}

/** Every item of a paged list, page after page (for CSV exports). */
async function* everyItem<T>(fetch: (page: string | undefined) => Promise<Page<T>>): AsyncGenerator<T> {
  let page: string | undefined;
  do {
    const out = await fetch(page);
    yield* out.items;
    page = out.next;
  } while (page);
}

export class ConsoleService {
  /** Data-subject requests: access, erasure, the register of requests. */
  readonly privacy: PrivacyService;
  /** The register of processing (art. 30). */
  readonly register: RegisterService;

  constructor(
    readonly config: FairsendConfig,
    private readonly stores: Stores,
  ) {
    this.privacy = new PrivacyService(config, stores);
    this.register = new RegisterService(config, stores);
  }

  controllers(): string[] {
    return Object.keys(this.config.controllers);
  }

  controller(id: string | undefined): string {
    const ids = this.controllers();
    if (!id) return ids[0]!;
    if (!this.config.controllers[id]) throw new InputError(`unknown controller "${id}" (known: ${ids.join(', ')})`);
    return id;
  }

  private require(actor: Actor, role: AdminRole): void {
    if (role === 'admin' && actor.role !== 'admin') {
      throw new ForbiddenError(`${actor.name} is a reviewer: only an admin may do this`);
    }
  }

  private audit(
    actor: Actor,
    entry: Omit<AuditEntry, 'id' | 'at' | 'actor' | 'via' | 'details'> & { details?: Record<string, string> },
  ) {
    return this.stores.audit.append({ actor: actor.name, via: actor.via, ...entry });
  }

  // Overview

  async overview(controllerId: string | undefined, days: number, now = new Date()): Promise<Overview> {
    const controller = this.controller(controllerId);
    const to = now.toISOString();
    const from = new Date(now.getTime() - days * 86_400_000).toISOString();
    const kinds = EVENT_RANK;
    const [sent, eventCounts, daily, open] = await Promise.all([
      this.stores.sendLog.count(controller, 'sent', from, to),
      Promise.all(kinds.map((kind) => this.stores.sendLog.count(controller, kind, from, to))),
      this.stores.blockedSends.daily(controller, from.slice(0, 10), to.slice(0, 10)),
      this.stores.blockedSends.search({ controller, openReviews: true }, { limit: 100 }),
    ]);
    const events = Object.fromEntries(kinds.map((kind, i) => [kind, eventCounts[i]!])) as Record<CopyEventKind, number>;
    const byRule: Record<string, number> = {};
    let blocked = 0;
    let flagged = 0;
    for (const day of daily) {
      for (const [key, n] of Object.entries(day.counts)) {
        byRule[key] = (byRule[key] ?? 0) + n;
        if (key.startsWith('blocked:')) blocked += n;
        else flagged += n;
      }
    }
    return {
      controller,
      from,
      to,
      sent,
      events,
      blocked,
      flagged,
      openReviews: open.items.length,
      bounceRate: sent > 0 ? events.bounced / sent : 0,
      complaintRate: sent > 0 ? events.complained / sent : 0,
      byRule,
      daily,
    };
  }

  // Blocked and flagged sends

  blocked(filter: BlockedSendFilter, page?: string, limit = 50): Promise<Page<BlockedSend>> {
    return this.stores.blockedSends.search(
      { ...filter, controller: this.controller(filter.controller) },
      { page, limit },
    );
  }

  async blockedDetail(
    controllerId: string,
    id: string,
  ): Promise<{ send: BlockedSend; opposition: Opposition | null; audit: AuditEntry[] } | undefined> {
    const controller = this.controller(controllerId);
    const send = await this.stores.blockedSends.get(controller, id);
    if (!send) return undefined;
    let opposition: Opposition | null = null;
    const address = normaliseAddress(send.recipient);
    if (send.rule.startsWith('opposition') && address) {
      const found = await this.stores.oppositions.search(controller, address.address);
      opposition = found.items.find((o) => o.subject === address.address) ?? found.items[0] ?? null;
    }
    const audit = await this.stores.audit.list({ controller, target: id, limit: 20 });
    return { send, opposition, audit: audit.items };
  }

  async review(actor: Actor, controllerId: string, id: string, comment: string): Promise<void> {
    const controller = this.controller(controllerId);
    const text = comment.trim();
    if (text.length < 3) throw new InputError('write a comment: what did you check, what did you conclude?');
    if (text.length > 2000) throw new InputError('the comment is longer than 2000 characters');
    const done = await this.stores.blockedSends.markReviewed(controller, id, { by: actor.name, comment: text });
    if (!done) throw new InputError('this send is not a flagged send awaiting review (already reviewed?)');
    await this.audit(actor, { action: 'flagged-send.review', controller, target: id, reason: text });
  }

  async *blockedCsv(filter: BlockedSendFilter): AsyncGenerator<string> {
    yield csvLine([
      'at',
      'outcome',
      'rule',
      'recipient',
      'user',
      'sender',
      'purpose',
      'subject',
      'message_id',
      'reason',
      'reply',
      'reviewed_by',
      'review',
    ]);
    for await (const b of everyItem((page) => this.blocked(filter, page, 500))) {
      yield csvLine([
        b.at,
        b.outcome,
        b.rule,
        b.recipient,
        b.user,
        b.mailFrom,
        b.purpose ?? '',
        b.subject ?? '',
        b.messageId ?? '',
        b.reason ?? '',
        b.reply ?? '',
        b.review?.by ?? '',
        b.review?.comment ?? '',
      ]);
    }
  }

  // Sent mail

  async sent(filter: SentFilter, page?: string, limit = 50): Promise<Page<SentRow>> {
    const controller = this.controller(filter.controller);
    const recipient = filter.recipient ? normaliseAddress(filter.recipient)?.address : undefined;
    if (filter.recipient && !recipient) throw new InputError(`"${filter.recipient}" is not an address`);
    const messageId = filter.messageId?.trim().replace(/^<?/, '<').replace(/>?$/, '>');
    const out = await this.stores.sendLog.searchSent(
      { ...filter, controller, recipient, messageId: filter.messageId ? messageId : undefined },
      { page, limit },
    );
    const events = await this.stores.sendLog.eventsOf(out.items);
    return {
      items: out.items.map((copy) => {
        const list = events.get(`${copy.sesMessageId}#${copy.recipient}`) ?? [];
        const worst = list.reduce<CopyEventKind | 'sent'>(
          (acc, e) => (acc === 'sent' || EVENT_RANK.indexOf(e.kind) > EVENT_RANK.indexOf(acc) ? e.kind : acc),
          'sent',
        );
        return { ...copy, events: list, status: worst };
      }),
      next: out.next,
    };
  }

  // Oppositions

  oppositions(controllerId: string | undefined, query: string | undefined, page?: string): Promise<Page<Opposition>> {
    const controller = this.controller(controllerId);
    let subject: string | undefined;
    if (query?.trim()) {
      const found = oppositionSubject(query);
      if (!found) throw new InputError(`"${query}" is neither an address nor @domain`);
      subject = found;
    }
    return this.stores.oppositions.search(controller, subject, { page });
  }

  async addOpposition(
    actor: Actor,
    controllerId: string | undefined,
    text: string,
    note: string,
  ): Promise<{ created: boolean; entry: Opposition }> {
    this.require(actor, 'admin');
    const controller = this.controller(controllerId);
    const subject = oppositionSubject(text);
    if (!subject) throw new InputError(`"${text}" is neither an address nor @domain`);
    // An erased person is opposed already, under a keyed hash: their address is not written back.
    const erased = subject.startsWith('@') ? undefined : await this.privacy.erasedEntry(controller, subject);
    if (erased) return { created: false, entry: erased };
    const now = new Date().toISOString();
    const result = await this.stores.oppositions.add({
      controller,
      subject,
      origin: 'manual',
      requestedAt: now,
      effectiveAt: now,
      evidence: { by: actor.name, via: actor.via, ...(note.trim() ? { note: note.trim().slice(0, 1000) } : {}) },
    });
    if (result.created) {
      await this.audit(actor, {
        action: 'opposition.add',
        controller,
        target: subject,
        ...(note.trim() ? { reason: note.trim().slice(0, 1000) } : {}),
      });
    }
    return result;
  }

  async removeOpposition(
    actor: Actor,
    controllerId: string | undefined,
    text: string,
    justification: string,
  ): Promise<Opposition> {
    this.require(actor, 'admin');
    const controller = this.controller(controllerId);
    const subject = oppositionSubject(text);
    if (!subject) throw new InputError(`"${text}" is neither an address nor @domain`);
    const why = justification.trim();
    if (why.length < 10) {
      throw new InputError(
        'removing an opposition needs a justification that will be kept (e.g. "consented again by e-mail on 2026-11-20, ticket 4711")',
      );
    }
    const existing = await this.stores.oppositions.get(controller, subject);
    if (!existing) throw new InputError(`${subject} is not on ${controller}'s opposition list`);
    // The justification and the whole entry go to the audit trail first: nothing is lost if the delete fails.
    await this.audit(actor, {
      action: 'opposition.remove',
      controller,
      target: subject,
      reason: why.slice(0, 2000),
      details: {
        origin: existing.origin,
        requestedAt: existing.requestedAt,
        effectiveAt: existing.effectiveAt,
        evidence: JSON.stringify(existing.evidence),
      },
    });
    await this.stores.oppositions.remove(controller, subject);
    return existing;
  }

  /**
   * Imports an opt-out list (a column `address`/`email`, or the first column; addresses or
   * `@domain`). The console and the CLI send a large file in slices (each with the header line
   * again) and show progress between them: `firstLine` is 1 + the rows of the file before this
   * slice, so refused rows are reported with their line in the file. An address already opposed keeps its
   * first entry; every refused row is reported with its line.
   */
  async importOppositions(
    actor: Actor,
    controllerId: string | undefined,
    input: { text: string; file: string; firstLine?: number; header?: boolean; importedAt?: string },
  ): Promise<ImportReport> {
    this.require(actor, 'admin');
    const controller = this.controller(controllerId);
    const firstLine = input.firstLine ?? 1;
    let records: { record: string[]; info: { lines: number } }[];
    try {
      records = (parse as (text: string, options: object) => unknown)(input.text, {
        bom: true,
        delimiter: [',', ';', '\t'],
        relax_column_count: true,
        skip_empty_lines: true,
        info: true,
      }) as { record: string[]; info: { lines: number } }[];
    } catch (err) {
      throw new InputError(`not a CSV file: ${(err as Error).message}`);
    }
    let column = 0;
    const first = records[0]?.record.map((c) => c.trim().toLowerCase()) ?? [];
    const named = first.findIndex((c) =>
      ['address', 'email', 'e-mail', 'mail', 'adresse', 'courriel', 'subject'].includes(c),
    );
    const hasHeader = input.header ?? (named >= 0 || (first.length > 0 && !first.some((c) => c.includes('@'))));
    if (named >= 0) column = named;
    const rows = hasHeader ? records.slice(1) : records;
    const report: ImportReport = { rows: 0, added: 0, existing: 0, refused: [] };
    // One upload sent in slices shares one instant: a row repeating one of an earlier slice is told apart
    // from an address that was on the list before this import.
    const given = input.importedAt ? Date.parse(input.importedAt) : Number.NaN;
    const importedAt =
      Number.isFinite(given) && Math.abs(Date.now() - given) < 86_400_000
        ? new Date(given).toISOString()
        : new Date().toISOString();
    const file = input.file.slice(0, 200);
    const seen = new Map<string, number>();
    const work: (() => Promise<void>)[] = [];
    const erased = await erasedEntries(
      this.stores.oppositions,
      this.config,
      controller,
      rows
        .map(({ record }) => oppositionSubject((record[column] ?? '').trim()))
        .filter((s): s is string => s !== null && !s.startsWith('@')),
    );
    for (const { record, info } of rows) {
      report.rows++;
      const line = firstLine + info.lines - 1;
      const value = (record[column] ?? '').trim();
      const subject = oppositionSubject(value);
      if (!subject) {
        report.refused.push({ line, value, reason: value ? 'neither an address nor @domain' : 'empty' });
        continue;
      }
      const earlier = seen.get(subject);
      if (earlier !== undefined) {
        report.refused.push({ line, value, reason: `repeats line ${earlier}` });
        continue;
      }
      seen.set(subject, line);
      if (erased.has(subject)) {
        // Already opposed, under a keyed hash: not written back in clear.
        report.existing++;
        continue;
      }
      work.push(async () => {
        const result = await this.stores.oppositions.add({
          controller,
          subject,
          origin: 'import',
          requestedAt: importedAt,
          effectiveAt: importedAt,
          evidence: { file, importedAt, line: String(line), by: actor.name },
        });
        const earlier = result.entry.evidence;
        if (result.created) report.added++;
        else if (result.entry.origin === 'import' && earlier.file === file && earlier.importedAt === importedAt) {
          report.refused.push({ line, value, reason: `repeats line ${earlier.line}` });
        } else report.existing++;
      });
    }
    // Twenty writes at a time: fast, and within what an on-demand table takes at once.
    for (let i = 0; i < work.length; i += 20) await Promise.all(work.slice(i, i + 20).map((w) => w()));
    report.refused.sort((a, b) => a.line - b.line);
    await this.audit(actor, {
      action: 'opposition.import',
      controller,
      details: {
        file: input.file.slice(0, 200),
        lines: `${firstLine}–${firstLine + (records.at(-1)?.info.lines ?? 1) - 1}`,
        added: String(report.added),
        existing: String(report.existing),
        refused: String(report.refused.length),
      },
    });
    return report;
  }

  async *oppositionsCsv(controllerId: string | undefined): AsyncGenerator<string> {
    const controller = this.controller(controllerId);
    yield csvLine(['subject', 'origin', 'requested_at', 'effective_at', 'evidence']);
    for await (const o of everyItem((page) =>
      this.stores.oppositions.search(controller, undefined, { page, limit: 500 }),
    )) {
      yield csvLine([o.subject, o.origin, o.requestedAt, o.effectiveAt, JSON.stringify(o.evidence)]);
    }
  }

  // Contacts

  async contact(controllerId: string | undefined, text: string): Promise<Contact | undefined> {
    const controller = this.controller(controllerId);
    const address = normaliseAddress(text);
    if (!address) throw new InputError(`"${text}" is not an address`);
    return (await this.stores.contacts.getMany(controller, [address.address])).get(address.address);
  }

  async saveContact(actor: Actor, input: Record<string, unknown>): Promise<ContactDetails> {
    this.require(actor, 'admin');
    const controller = this.controller(typeof input.controller === 'string' ? input.controller : undefined);
    const address = normaliseAddress(String(input.address ?? ''));
    if (!address) throw new InputError(`"${String(input.address ?? '')}" is not an address`);
    const erased = await this.privacy.erasedEntry(controller, address.address);
    if (erased) throw new InputError(erasedRefusal(erased));
    const parsed = contactSchema
      .omit({
        firstContactAt: true,
        firstContactKey: true,
        firstContactClaimedAt: true,
        lastContactAt: true,
        updatedAt: true,
      })
      .safeParse({ ...input, controller, address: address.address });
    if (!parsed.success) {
      throw new InputError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
    await this.stores.contacts.save(parsed.data);
    await this.audit(actor, {
      action: 'contact.save',
      controller,
      target: address.address,
      details: Object.fromEntries(
        Object.entries(parsed.data)
          .filter(([k, v]) => v !== undefined && k !== 'controller' && k !== 'address')
          .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
      ),
    });
    return parsed.data;
  }

  async importContacts(
    actor: Actor,
    controllerId: string | undefined,
    input: { text: string; file: string },
  ): Promise<{ rows: number; saved: number; refused: { line: number; reason: string }[] }> {
    this.require(actor, 'admin');
    const controller = this.controller(controllerId);
    const refused: { line: number; reason: string }[] = [];
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const summary = await importContacts(input.file, controller, this.stores.contacts, sink, {
      text: input.text,
      refusedRows: refused,
      check: this.erasedCheck(controller),
    });
    await this.audit(actor, {
      action: 'contact.import',
      controller,
      details: {
        file: input.file.slice(0, 200),
        rows: String(summary.rows),
        saved: String(summary.saved),
        refused: String(summary.refused),
      },
    });
    return { rows: summary.rows, saved: summary.saved, refused };
  }

  /** For contact imports (console and CLI): an erased person's row is refused, never saved. */
  erasedCheck(controller: string): (contact: ContactDetails) => Promise<string | null> {
    return async (contact) => {
      const erased = await this.privacy.erasedEntry(controller, contact.address);
      return erased ? erasedRefusal(erased) : null;
    };
  }

  /** Everything about one person on one page: the record, copies sent, blocks, oppositions, audit. */
  async person(controllerId: string | undefined, text: string) {
    const controller = this.controller(controllerId);
    const address = normaliseAddress(text);
    if (!address) throw new InputError(`"${text}" is not an address`);
    const [contact, sent, blocked, oppositions, audit] = await Promise.all([
      this.stores.contacts.getMany(controller, [address.address]).then((m) => m.get(address.address)),
      this.sent({ controller, recipient: address.address }, undefined, 100),
      this.stores.blockedSends.search({ controller, recipient: address.address }, { limit: 100 }),
      this.stores.oppositions.search(controller, address.address),
      this.stores.audit.list({ controller, target: address.address, limit: 100 }),
    ]);
    return {
      controller,
      address: address.address,
      contact,
      sent: sent.items,
      blocked: blocked.items,
      oppositions: oppositions.items,
      audit: audit.items,
    };
  }

  // SMTP users

  async smtpUsers(): Promise<SmtpUserView[]> {
    const [managed, logins] = await Promise.all([this.stores.admin.smtpUsers(), this.stores.admin.smtpLogins()]);
    const byName = new Map(managed.map((u) => [u.name, u]));
    return [...mergeUsers(this.config.smtpUsers, managed).values()]
      .map((u) => ({
        name: u.name,
        source: u.source,
        controller: u.controller,
        allowedFrom: u.allowedFrom,
        ...(u.defaultPurpose ? { defaultPurpose: u.defaultPurpose } : {}),
        refusalMode: u.refusalMode,
        disabled: u.disabled,
        ...(byName.get(u.name)
          ? { updatedAt: byName.get(u.name)!.updatedAt, updatedBy: byName.get(u.name)!.updatedBy }
          : {}),
        ...(logins.get(u.name) ? { logins: logins.get(u.name)! } : {}),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Adds or changes an SMTP user. A new user, or `rotatePassword`, gets a new random password,
   * returned once and stored only as its scrypt hash.
   */
  async saveSmtpUser(
    actor: Actor,
    input: SmtpUserInput,
    options: { rotatePassword?: boolean; creating?: boolean } = {},
  ): Promise<{ password?: string; user: SmtpUserView }> {
    this.require(actor, 'admin');
    const parsed = smtpUserInput.safeParse(input);
    if (!parsed.success) {
      throw new InputError(parsed.error.issues.map((i) => `${i.path.join('.') || 'user'}: ${i.message}`).join('; '));
    }
    const wanted = parsed.data;
    const problems = smtpUserProblems(this.config, wanted);
    if (problems.length > 0) throw new InputError(problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; '));
    // One read of the managed users: the user as the relays see it, and its stored hash.
    const current = mergeUsers(this.config.smtpUsers, await this.stores.admin.smtpUsers()).get(wanted.name);
    if (options.creating && current) throw new InputError(`an SMTP user "${wanted.name}" already exists`);
    if (!options.creating && !current) throw new InputError(`no SMTP user "${wanted.name}"`);
    let password: string | undefined;
    let passwordHash = current?.passwordHash;
    if (!passwordHash || options.rotatePassword || options.creating) {
      password = newPassword();
      passwordHash = await hashPassword(password);
    }
    const user: ManagedSmtpUser = {
      name: wanted.name,
      passwordHash,
      controller: wanted.controller,
      allowedFrom: wanted.allowedFrom,
      ...(wanted.defaultPurpose ? { defaultPurpose: wanted.defaultPurpose } : {}),
      refusalMode: wanted.refusalMode,
      disabled: wanted.disabled,
      updatedAt: new Date().toISOString(),
      updatedBy: actor.name,
    };
    await this.stores.admin.putSmtpUser(user);
    const changes: Record<string, string> = {
      controller: user.controller,
      allowedFrom: user.allowedFrom.join(' '),
      refusalMode: user.refusalMode,
      disabled: String(user.disabled),
      ...(user.defaultPurpose ? { defaultPurpose: user.defaultPurpose } : {}),
    };
    if (password) changes.password = options.creating ? 'set' : 'rotated';
    await this.audit(actor, {
      action: options.creating ? 'smtp-user.add' : 'smtp-user.change',
      controller: user.controller,
      target: user.name,
      details: changes,
    });
    return {
      ...(password ? { password } : {}),
      user: { ...user, source: 'console' },
    };
  }

  async setSmtpUserDisabled(actor: Actor, name: string, disabled: boolean): Promise<void> {
    const current = (await this.smtpUsers()).find((u) => u.name === name);
    if (!current) throw new InputError(`no SMTP user "${name}"`);
    await this.saveSmtpUser(actor, { ...current, disabled });
  }

  // Admin accounts

  async createAdmin(actor: Actor, name: string, role: AdminRole, password?: string): Promise<string> {
    this.require(actor, 'admin');
    if (!/^[A-Za-z0-9._@+-]{1,64}$/.test(name))
      throw new InputError('an account name is letters, digits and . _ @ + - (at most 64)');
    const secret = password ?? newPassword();
    if (secret.length < 12) throw new InputError('a password has at least 12 characters');
    const created = await this.stores.admin.createAccount({
      name,
      role,
      passwordHash: await hashPassword(secret),
      createdAt: new Date().toISOString(),
      createdBy: actor.name,
    });
    if (!created) throw new InputError(`an account "${name}" already exists`);
    await this.audit(actor, { action: 'admin-account.create', target: name, details: { role } });
    return secret;
  }

  async setAdminPassword(actor: Actor, name: string, password?: string): Promise<string> {
    this.require(actor, 'admin');
    const secret = password ?? newPassword();
    if (secret.length < 12) throw new InputError('a password has at least 12 characters');
    if (!(await this.stores.admin.account(name))) throw new InputError(`no account "${name}"`);
    await this.stores.admin.setAccountPassword(name, await hashPassword(secret));
    await this.audit(actor, { action: 'admin-account.password', target: name });
    return secret;
  }

  // Audit trail

  auditTrail(page?: string, limit = 50): Promise<Page<AuditEntry>> {
    return this.stores.audit.list({ page, limit });
  }

  async *auditCsv(): AsyncGenerator<string> {
    yield csvLine(['at', 'actor', 'via', 'action', 'controller', 'target', 'reason', 'details']);
    for await (const e of everyItem((page) => this.stores.audit.list({ page, limit: 500 }))) {
      yield csvLine([
        e.at,
        e.actor,
        e.via,
        e.action,
        e.controller ?? '',
        e.target ?? '',
        e.reason ?? '',
        JSON.stringify(e.details),
      ]);
    }
  }
}
