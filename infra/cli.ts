import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { normaliseAddress } from '../shared/address.ts';
import type { FairsendConfig } from '../shared/config.ts';
import { accessReportHtml } from '../shared/console/access-report.ts';
import { registerLanguage, registerMarkdown } from '../shared/console/register.ts';
import {
  type Actor,
  blockedSendFilter,
  ConsoleService,
  ForbiddenError,
  InputError,
  oppositionSubject,
} from '../shared/console/service.ts';
import { importContacts } from '../shared/contacts-import.ts';
import { ConfigError, StoreUnavailableError } from '../shared/errors.ts';
import { hashPassword } from '../shared/password.ts';
import { printableLines } from '../shared/printable.ts';
import { retentionOf } from '../shared/retention.ts';
import type { AuditEntry } from '../shared/stores/audit.ts';
import type { BlockedSend, BlockedSendFilter } from '../shared/stores/blocked-sends.ts';
import { contactSchema } from '../shared/stores/contacts.ts';
import { createDynamoClient, type Page } from '../shared/stores/dynamo.ts';
import { createStores } from '../shared/stores/index.ts';
import type { Opposition } from '../shared/stores/opposition-list.ts';
import { retentionPreview } from '../shared/stores/retention-sweep.ts';
import type { SentCopy } from '../shared/stores/send-log.ts';
import { loadLocalConfig } from './local/local-config.ts';

/** Every line the CLI prints goes through printableLines: data from mail cannot drive the admin's terminal. */
const out = (text: string) => process.stdout.write(printableLines(text));
const err = (text: string) => process.stderr.write(printableLines(text));

const USAGE = `usage: npm run fairsend -- <command> [options]      (fairsend help, fairsend <command> --help)

  blocked [--controller ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--user NAME] [--sender ADDR]
          [--recipient ADDR|@domain] [--rule RULE] [--outcome blocked|flagged] [--open]
          [--limit N | --all] [--json]                refused and flagged recipients, newest first (50 by default)
  oppositions [--controller ID] [--search ADDR|@domain] [--limit N | --all] [--json]
                                                      the opposition list
  oppositions import <file.csv> [--controller ID]     import an opt-out list (origin "import"; progress, every
                                                      refused row reported)
  oppose <address|@domain> [--controller ID] [--note TEXT]
                                                      add an opposition (origin "manual")
  unoppose <address|@domain> --reason TEXT [--controller ID]
                                                      remove an opposition; the reason is kept in the audit trail
  sent <address> [--controller ID] [--json]           copies sent to one person
  contact <address> [--controller ID] [--source TEXT] [--obtained YYYY-MM-DD]
          [--profession TEXT] [--company TEXT] [--professional] [--language fr|en|de]
          [--reason TEXT] [--consent HOW]             record what you know about a person
  contact <address> --show                            show the record
  contacts import <file.csv> [--controller ID] [--dry-run] [--rejects FILE]
                                                      import contacts (columns: address, source, obtainedAt,
                                                      profession, company, professional, language, reason,
                                                      consentAt, consentHow; separated by , ; or tab, as French
                                                      Excel writes them); shows progress, reports every refused
                                                      row (all of them in FILE, with the reason)
  admin create <name> [--role admin|reviewer]        make a console account; its password is read on stdin
                                                      (piped) or made and printed once
  admin password <name>                               set a console account's password (stdin, or made)
  users [--json]                                      SMTP users (config and console), last logins
  user add <name> --controller ID --allowed-from A[,B] [--purpose ID] [--refusal-mode MODE]
                                                      add an SMTP user; prints its password once
  user disable|enable|password <name>                 disable, enable, or give a new password (printed once)
  audit [--limit N | --all] [--json]                  the audit trail, newest first
  access <address> [--controller ID] [--html FILE] [--lang fr|en]
                                                      everything held about a person and their +tag variants:
                                                      JSON on stdout, a printable page for them in FILE
  erase <address> (--request ID | --reason TEXT) [--controller ID]
                                                      erase a person's data; their opposition is kept as a
                                                      keyed hash, so they are never written to again
  requests [--json]                                   data-subject requests, open ones first by deadline
  request add <address> --kind access|erasure|objection|rectification [--controller ID]
          [--received YYYY-MM-DD] [--channel TEXT] [--note TEXT]
                                                      record a request (its deadline: one month)
  request extend <id> --reason TEXT                   extend by up to two months (art. 12(3))
  request close <id> --outcome TEXT [--refused]       answered (or refused, with why)
  retention [--preview] [--days N]                    what retention removes: overdue and next N days (30)
  register [--format md|json] [--lang fr|en] [--controller ID]
                                                      the register of processing (GDPR art. 30), with figures
  hash-password                                       read a password on stdin, print its scrypt hash

The config is FAIRSEND_CONFIG (default: the local demo config); for the local stack,
"npm start" must be running.`;

/** Usage for one command: its lines of USAGE. */
function usageOf(command: string): string {
  const lines = USAGE.split('\n');
  const start = lines.findIndex((l) => l.trimStart().startsWith(`${command} `) || l.trim() === command);
  if (start === -1) return USAGE;
  let end = start + 1;
  while (end < lines.length && /^\s{10,}/.test(lines[end]!) && !/^\s{2}\S/.test(lines[end]!)) end++;
  return `usage: npm run fairsend -- ${lines.slice(start, end).join('\n').trim()}`;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A whole number ≥ 1 from an option, or a usage error naming it. */
function count(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${option} takes a whole number ≥ 1, not "${value}"`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (e) {
    err(`${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { positionals, values } = parsed;
  const [first, ...others] = positionals;
  const command = first === 'help' ? others[0] : first;
  const rest = first === 'help' ? others.slice(1) : others;
  if (first === 'help' || values.help) {
    out(`${command ? usageOf(command) : USAGE}\n`);
    return 0;
  }
  if (!command) {
    err(`${USAGE}\n`);
    return 2;
  }
  try {
    return await run(command, rest, values);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`${e.message}\n\n${usageOf(command)}\n`);
    return 2;
  }
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      controller: { type: 'string' },
      limit: { type: 'string' },
      all: { type: 'boolean', default: false },
      note: { type: 'string' },
      source: { type: 'string' },
      obtained: { type: 'string' },
      profession: { type: 'string' },
      company: { type: 'string' },
      professional: { type: 'boolean' },
      language: { type: 'string' },
      reason: { type: 'string' },
      consent: { type: 'string' },
      show: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      rejects: { type: 'string' },
      json: { type: 'boolean', default: false },
      from: { type: 'string' },
      to: { type: 'string' },
      user: { type: 'string' },
      sender: { type: 'string' },
      recipient: { type: 'string' },
      rule: { type: 'string' },
      outcome: { type: 'string' },
      open: { type: 'boolean', default: false },
      search: { type: 'string' },
      role: { type: 'string' },
      'allowed-from': { type: 'string' },
      purpose: { type: 'string' },
      'refusal-mode': { type: 'string' },
      html: { type: 'string' },
      lang: { type: 'string' },
      request: { type: 'string' },
      kind: { type: 'string' },
      received: { type: 'string' },
      channel: { type: 'string' },
      refused: { type: 'boolean', default: false },
      preview: { type: 'boolean', default: false },
      days: { type: 'string' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

async function run(
  command: string,
  rest: string[],
  values: ReturnType<typeof parseOptions>['values'],
): Promise<number> {
  const known = [
    'blocked',
    'oppositions',
    'oppose',
    'unoppose',
    'sent',
    'contact',
    'contacts',
    'hash-password',
    'admin',
    'users',
    'user',
    'audit',
    'access',
    'erase',
    'requests',
    'request',
    'retention',
    'register',
  ];
  if (!known.includes(command)) throw new UsageError(`unknown command "${command}"`);
  const limit = values.all ? Number.POSITIVE_INFINITY : count(values.limit, 'limit', 50);
  if (command === 'hash-password') {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
    const password = (await rl.question(process.stdin.isTTY ? 'password: ' : '')).trim();
    rl.close();
    if (password.length < 12) {
      err('refusing a password shorter than 12 characters\n');
      return 2;
    }
    out(`${await hashPassword(password)}\n`);
    return 0;
  }

  const { config } = await loadLocalConfig();
  // Accounts, SMTP users and the audit trail are not one controller's.
  const global =
    ['admin', 'users', 'audit', 'requests', 'retention'].includes(command) ||
    (command === 'user' && rest[0] !== 'add') ||
    (command === 'request' && rest[0] !== 'add') ||
    (['access', 'erase', 'register'].includes(command) && !values.controller);
  const controller = global ? '' : pickController(config, values.controller);
  const db = createDynamoClient(config.dynamodb);
  const stores = createStores(db, config.dynamodb.tables, retentionOf(config));
  const service = new ConsoleService(config, stores);
  const actor: Actor = { name: process.env.USER || process.env.USERNAME || 'cli', role: 'admin', via: 'cli' };
  /** Every page of a paged list, up to `limit` rows. */
  const pages = async <T>(fetch: (page?: string) => Promise<Page<T>>): Promise<{ rows: T[]; more: boolean }> => {
    const rows: T[] = [];
    let page: string | undefined;
    do {
      const out = await fetch(page);
      rows.push(...out.items);
      page = out.next;
    } while (page && rows.length <= limit);
    const more = rows.length > limit || (page !== undefined && rows.length >= limit);
    if (rows.length > limit) rows.length = limit;
    return { rows, more };
  };
  const print = (rows: unknown[], line: (row: never) => string) => {
    if (values.json) out(`${JSON.stringify(rows, null, 2)}\n`);
    else if (rows.length === 0) out('(none)\n');
    else for (const row of rows) out(`${line(row as never)}\n`);
  };

  try {
    switch (command) {
      case 'blocked': {
        const filter = blockedFilterOf(controller, values);
        const { rows, more } = await pages((page) => service.blocked(filter, page, Math.min(500, limit)));
        print(rows, (r: BlockedSend) =>
          [
            r.at,
            r.outcome,
            r.recipient,
            `rule=${r.rule}`,
            r.reason ? `reason=${JSON.stringify(r.reason)}` : '',
            `user=${r.user}`,
            `from=${r.mailFrom}`,
            r.subject ? `subject=${JSON.stringify(r.subject)}` : '',
            r.messageId ? `message-id=${r.messageId}` : '',
            r.review ? `reviewed-by=${r.review.by}` : '',
          ]
            .filter(Boolean)
            .join('  '),
        );
        if (more && !values.json) err(`(the ${limit} newest shown; --limit N for more, --all for every one)\n`);
        return 0;
      }
      case 'oppositions': {
        if (rest[0] === 'import') {
          if (!rest[1]) throw new UsageError('give the file to import');
          if (!existsSync(rest[1])) {
            err(`${rest[1]}: no such file\n`);
            return 2;
          }
          return await importOppositionFile(service, actor, controller, rest[1]);
        }
        if (rest.length > 0) throw new UsageError(`unknown argument "${rest[0]}"`);
        const { rows, more } = await pages((page) => service.oppositions(controller, values.search, page));
        print(
          rows,
          (r: Opposition) =>
            `${r.subject}  origin=${r.origin}  requested=${r.requestedAt}  effective=${r.effectiveAt}  ${JSON.stringify(r.evidence)}`,
        );
        if (more && !values.json) err(`(${limit} shown; --limit N for more, --all for every one)\n`);
        return 0;
      }
      case 'oppose': {
        const target = rest[0] ?? '';
        if (!oppositionSubject(target)) {
          err(`"${target}" is neither an address nor @domain\n`);
          return 2;
        }
        const result = await service.addOpposition(actor, controller, target, values.note ?? '');
        const subject = result.entry.subject;
        out(
          result.created
            ? `${subject} is now on ${controller}'s opposition list\n`
            : `${subject} was already on the list (origin ${result.entry.origin}, since ${result.entry.effectiveAt})\n`,
        );
        return 0;
      }
      case 'unoppose': {
        if (!values.reason) throw new UsageError('--reason is required: why may this person be written to again?');
        const removed = await service.removeOpposition(actor, controller, rest[0] ?? '', values.reason);
        out(
          `${removed.subject} (origin ${removed.origin}) removed from ${controller}'s list; the reason is in the audit trail\n`,
        );
        return 0;
      }
      case 'admin': {
        const [verb, name] = rest;
        if ((verb !== 'create' && verb !== 'password') || !name)
          throw new UsageError('admin create <name> or admin password <name>');
        const role = values.role ?? 'admin';
        if (role !== 'admin' && role !== 'reviewer') throw new UsageError('--role is admin or reviewer');
        const given = process.stdin.isTTY ? undefined : (await readStdin()).trim() || undefined;
        const password =
          verb === 'create'
            ? await service.createAdmin(actor, name, role, given)
            : await service.setAdminPassword(actor, name, given);
        out(
          given
            ? `${verb === 'create' ? `account ${name} (${role}) created` : `password of ${name} changed`}\n`
            : `${verb === 'create' ? `account ${name} (${role}) created` : `password of ${name} changed`}; its password (shown once): ${password}\n`,
        );
        return 0;
      }
      case 'users': {
        const users = await service.smtpUsers();
        print(users, (u: Awaited<ReturnType<typeof service.smtpUsers>>[number]) =>
          [
            u.name,
            u.disabled ? 'DISABLED' : 'enabled',
            `source=${u.source}`,
            `controller=${u.controller}`,
            `allowed-from=${u.allowedFrom.join(',')}`,
            u.defaultPurpose ? `purpose=${u.defaultPurpose}` : '',
            `last-login=${u.logins?.lastLoginAt ?? 'never'}`,
            u.logins?.failedLogins ? `failed-logins=${u.logins.failedLogins}` : '',
          ]
            .filter(Boolean)
            .join('  '),
        );
        return 0;
      }
      case 'user': {
        const [verb, name] = rest;
        if (!name || !['add', 'disable', 'enable', 'password'].includes(verb ?? '')) {
          throw new UsageError('user add|disable|enable|password <name>');
        }
        if (verb === 'add') {
          const result = await service.saveSmtpUser(
            actor,
            {
              name,
              controller,
              allowedFrom: (values['allowed-from'] ?? '')
                .split(',')
                .map((a) => a.trim())
                .filter(Boolean),
              ...(values.purpose ? { defaultPurpose: values.purpose } : {}),
              refusalMode: (values['refusal-mode'] ?? 'reject') as 'reject',
            },
            { creating: true },
          );
          out(`SMTP user ${name} added; its password (shown once): ${result.password}\n`);
          return 0;
        }
        const current = (await service.smtpUsers()).find((u) => u.name === name);
        if (!current) {
          err(`no SMTP user "${name}"\n`);
          return 1;
        }
        if (verb === 'password') {
          const result = await service.saveSmtpUser(actor, current, { rotatePassword: true });
          out(`new password of ${name} (shown once): ${result.password}\n`);
        } else {
          await service.setSmtpUserDisabled(actor, name, verb === 'disable');
          out(`${name} ${verb}d; every relay picks it up within ${config.smtp.userRefreshMs / 1000} s\n`);
        }
        return 0;
      }
      case 'access': {
        const report = await service.privacy.access(values.controller, rest[0] ?? '');
        if (values.html) {
          const lang =
            values.lang === 'en' || values.lang === 'fr'
              ? values.lang
              : report.controllers[0]?.contacts[0]?.language === 'en'
                ? 'en'
                : 'fr';
          writeFileSync(values.html, accessReportHtml(report, lang));
          err(`the page for the person (${lang}) is in ${values.html}\n`);
        }
        out(`${JSON.stringify(report, null, 2)}\n`);
        return 0;
      }
      case 'erase': {
        if (!values.request && !values.reason)
          throw new UsageError('give --request ID (the request it answers) or --reason TEXT');
        const reports = await service.privacy.erase(actor, values.controller, rest[0] ?? '', {
          ...(values.request ? { requestId: values.request } : {}),
          ...(values.reason ? { reason: values.reason } : {}),
        });
        for (const r of reports) {
          out(
            `${r.controller}: erased ${r.contacts} contact record(s), ${r.sendLog} send-log item(s), ${r.blocked} blocked send(s) over ${r.addresses} address(es); the opposition is kept as a keyed hash\n`,
          );
        }
        return 0;
      }
      case 'requests': {
        const requests = await service.privacy.requests();
        print(requests, (r: Awaited<ReturnType<typeof service.privacy.requests>>[number]) =>
          [
            r.id,
            r.status.toUpperCase(),
            r.kind,
            r.controller,
            r.subjectMasked,
            `received=${r.receivedAt.slice(0, 10)}`,
            `due=${(r.extension?.until ?? r.deadline).slice(0, 10)}`,
            r.status === 'open'
              ? r.dueIn < 0
                ? `LATE by ${-r.dueIn} days`
                : `in ${r.dueIn} days`
              : `closed=${r.closedAt?.slice(0, 10)} by ${r.closedBy}`,
            r.outcome ? `outcome=${JSON.stringify(r.outcome)}` : '',
          ]
            .filter(Boolean)
            .join('  '),
        );
        return 0;
      }
      case 'request': {
        const [verb, target] = rest;
        if (verb === 'add') {
          if (!target || !values.kind)
            throw new UsageError('request add <address> --kind access|erasure|objection|rectification');
          const r = await service.privacy.createRequest(actor, {
            controller,
            kind: values.kind,
            address: target,
            ...(values.received ? { receivedAt: values.received } : {}),
            ...(values.channel ? { channel: values.channel } : {}),
            ...(values.note ? { note: values.note } : {}),
          });
          out(`request ${r.id} (${r.kind}, ${r.subjectMasked}) recorded; answer by ${r.deadline.slice(0, 10)}\n`);
          return 0;
        }
        if (verb === 'extend' && target) {
          const r = await service.privacy.extend(actor, target, values.reason ?? '');
          out(`request ${r.id} extended to ${r.extension!.until.slice(0, 10)}; tell the person why\n`);
          return 0;
        }
        if (verb === 'close' && target) {
          const r = await service.privacy.close(
            actor,
            target,
            values.refused ? 'refused' : 'done',
            values.outcome ?? '',
          );
          out(`request ${r.id} ${r.status}\n`);
          return 0;
        }
        throw new UsageError('request add|extend|close …');
      }
      case 'retention': {
        const days = count(values.days, 'days', 30);
        const lines = await retentionPreview(db, config.dynamodb.tables, days);
        const r = retentionOf(config);
        out(
          `retention: contacts ${r.contactsMonths} months after collection or last update, send log ${r.sendLogMonths}, blocked sends ${r.blockedSendsMonths}, SES events ${r.sesEventsMonths}, audit ${r.auditMonths}, requests ${r.requestsMonths} months; idempotency ${r.idempotencyHours} h; oppositions: kept\n`,
        );
        if (lines.length === 0) out(`nothing expires in the next ${days} days\n`);
        for (const l of lines) {
          out(
            `${l.table.padEnd(13)} ${l.kind.padEnd(32)} overdue ${String(l.overdue).padStart(6)}   next ${days} days ${String(l.upcoming).padStart(6)}${l.next ? ` (first on ${l.next.slice(0, 16).replace('T', ' ')})` : ''}\n`,
          );
        }
        err('(in AWS, DynamoDB TTL deletes these; locally, npm start purges them at start and every hour)\n');
        return 0;
      }
      case 'register': {
        const lang = registerLanguage(values.lang);
        const register = await service.register.build(lang, values.controller);
        if (values.format === 'json') out(`${JSON.stringify(register, null, 2)}\n`);
        else if (values.format === undefined || values.format === 'md') out(registerMarkdown(register));
        else throw new UsageError('--format is md or json');
        return 0;
      }
      case 'audit': {
        const { rows, more } = await pages((page) => service.auditTrail(page, Math.min(500, limit)));
        print(rows, (e: AuditEntry) =>
          [
            e.at,
            `${e.actor} (${e.via})`,
            e.action,
            e.controller ? `controller=${e.controller}` : '',
            e.target ? `target=${e.target}` : '',
            e.reason ? `reason=${JSON.stringify(e.reason)}` : '',
            Object.keys(e.details).length > 0 ? JSON.stringify(e.details) : '',
          ]
            .filter(Boolean)
            .join('  '),
        );
        if (more && !values.json) err(`(the ${limit} newest shown; --limit N for more, --all for every one)\n`);
        return 0;
      }
      case 'sent': {
        const address = normaliseAddress(rest[0] ?? '');
        if (!address) {
          err('give an address\n');
          return 2;
        }
        const rows = await stores.sendLog.history(controller, address.address);
        print(
          rows,
          (r: SentCopy) =>
            `${r.at}  ${r.recipient}  ses=${r.sesMessageId}  purpose=${r.purpose ?? '-'}  user=${r.user}`,
        );
        return 0;
      }
      case 'contact': {
        const address = normaliseAddress(rest[0] ?? '');
        if (!address) {
          err('give an address\n');
          return 2;
        }
        const store = stores.contacts;
        if (!values.show) {
          const parsed = contactSchema.safeParse({
            controller,
            address: address.address,
            source: values.source,
            obtainedAt: values.obtained,
            profession: values.profession,
            company: values.company,
            professional: values.professional,
            language: values.language,
            reason: values.reason,
            consent: values.consent ? { at: new Date().toISOString(), how: values.consent } : undefined,
          });
          if (!parsed.success) {
            err(`invalid contact: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n`);
            return 2;
          }
          await service.saveContact(actor, parsed.data);
        }
        const contact = (await store.getMany(controller, [address.address])).get(address.address);
        if (!contact) {
          err(
            `no contact ${address.address} for ${controller}; record one with: npm run fairsend -- contact ${address.address} --source "…"\n`,
          );
          return 1;
        }
        out(`${JSON.stringify(contact, null, 2)}\n`);
        return 0;
      }
      case 'contacts': {
        if (rest[0] !== 'import' || !rest[1]) throw new UsageError('give the file to import');
        if (!existsSync(rest[1])) {
          err(`${rest[1]}: no such file\n`);
          return 2;
        }
        const store = stores.contacts;
        const summary = await importContacts(rest[1], controller, values['dry-run'] ? null : store, process.stderr, {
          rejects: values.rejects,
          // A dry run checks the file alone (no DynamoDB needed); a real import also refuses erased people.
          ...(values['dry-run'] ? {} : { check: service.erasedCheck(controller) }),
        });
        if (!values['dry-run']) {
          await stores.audit.append({
            actor: actor.name,
            via: 'cli',
            action: 'contact.import',
            controller,
            details: {
              file: basename(rest[1]),
              rows: String(summary.rows),
              saved: String(summary.saved),
              refused: String(summary.refused),
            },
          });
        }
        return summary.refused > 0 ? 1 : 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    db.destroy();
  }
}

/** Blocked-send filters from the options, read and checked by the service (`--to` inclusive). */
function blockedFilterOf(controller: string, values: ReturnType<typeof parseOptions>['values']): BlockedSendFilter {
  try {
    return blockedSendFilter(controller, values, (field) => `--${field}`);
  } catch (e) {
    if (e instanceof InputError) throw new UsageError(e.message);
    throw e;
  }
}

/** An opt-out list, 500 lines at a time through the service, with progress and every refused row. */
async function importOppositionFile(
  service: ConsoleService,
  actor: Actor,
  controller: string,
  file: string,
): Promise<number> {
  const lines = readFileSync(file, 'utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/);
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  const header = lines[0] ?? '';
  const hasHeader = !header.includes('@') || /address|e-?mail|courriel|adresse/i.test(header);
  const rows = hasHeader ? lines.slice(1) : lines;
  const totals = { added: 0, existing: 0, refused: [] as { line: number; value: string; reason: string }[] };
  const importedAt = new Date().toISOString();
  for (let i = 0; i < rows.length; i += 500) {
    const slice = rows.slice(i, i + 500);
    const report = await service.importOppositions(actor, controller, {
      text: (hasHeader ? `${header}\n` : '') + slice.join('\n'),
      file: basename(file),
      firstLine: 1 + i,
      header: hasHeader,
      importedAt,
    });
    totals.added += report.added;
    totals.existing += report.existing;
    totals.refused.push(...report.refused);
    err(
      `\r  ${Math.min(i + 500, rows.length)} of ${rows.length} rows: ${totals.added} added, ${totals.existing} already on the list, ${totals.refused.length} refused`,
    );
  }
  err('\n');
  for (const r of totals.refused.slice(0, 50)) err(`  line ${r.line}: ${r.reason}: ${r.value}\n`);
  if (totals.refused.length > 50) err(`  … and ${totals.refused.length - 50} more\n`);
  return totals.refused.length > 0 ? 1 : 0;
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

function pickController(config: FairsendConfig, wanted: string | undefined): string {
  const ids = Object.keys(config.controllers);
  if (wanted) {
    if (!config.controllers[wanted]) throw new ConfigError(`unknown controller "${wanted}" (known: ${ids.join(', ')})`);
    return wanted;
  }
  if (ids.length === 1) return ids[0]!;
  throw new ConfigError(`several controllers are configured; pick one with --controller (${ids.join(', ')})`);
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (failure: unknown) => {
    if (failure instanceof ConfigError) err(`${failure.message}\n`);
    else if (failure instanceof InputError || failure instanceof ForbiddenError) {
      err(`${failure.message}\n`);
      process.exit(2);
    } else if (failure instanceof StoreUnavailableError)
      err(`${failure.message}\nIs DynamoDB reachable? For the local stack, run "npm start" first.\n`);
    else err(`${(failure as Error).stack ?? String(failure)}\n`);
    process.exit(1);
  },
);
