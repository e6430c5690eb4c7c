import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { normaliseAddress, normaliseDomain } from '../shared/address.ts';
import type { FairsendConfig } from '../shared/config.ts';
import { importContacts } from '../shared/contacts-import.ts';
import { ConfigError, StoreUnavailableError } from '../shared/errors.ts';
import { hashPassword } from '../shared/password.ts';
import { printableLines } from '../shared/printable.ts';
import type { BlockedSend } from '../shared/stores/blocked-sends.ts';
import { contactSchema } from '../shared/stores/contacts.ts';
import { createDynamoClient } from '../shared/stores/dynamo.ts';
import { createStores } from '../shared/stores/index.ts';
import { domainSubject, type Opposition } from '../shared/stores/opposition-list.ts';
import type { SentCopy } from '../shared/stores/send-log.ts';
import { loadLocalConfig } from './local/local-config.ts';

/** Every line the CLI prints goes through printableLines: data from mail cannot drive the admin's terminal. */
const out = (text: string) => process.stdout.write(printableLines(text));
const err = (text: string) => process.stderr.write(printableLines(text));

const USAGE = `usage: npm run fairsend -- <command> [options]      (fairsend help, fairsend <command> --help)

  blocked [--controller ID] [--limit N | --all] [--json]
                                                      refused and flagged recipients, newest first (50 by default)
  oppositions [--controller ID] [--limit N | --all] [--json]
                                                      the opposition list
  oppose <address|@domain> [--controller ID] [--note TEXT]
                                                      add an opposition (origin "manual")
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
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

async function run(
  command: string,
  rest: string[],
  values: ReturnType<typeof parseOptions>['values'],
): Promise<number> {
  const known = ['blocked', 'oppositions', 'oppose', 'sent', 'contact', 'contacts', 'hash-password'];
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
  const controller = pickController(config, values.controller);
  const db = createDynamoClient(config.dynamodb);
  const stores = createStores(db, config.dynamodb.tables);
  const print = (rows: unknown[], line: (row: never) => string) => {
    if (values.json) out(`${JSON.stringify(rows, null, 2)}\n`);
    else if (rows.length === 0) out('(none)\n');
    else for (const row of rows) out(`${line(row as never)}\n`);
  };

  try {
    switch (command) {
      case 'blocked': {
        const rows = await stores.blockedSends.list(controller, {
          limit: Number.isFinite(limit) ? limit + 1 : 1_000_000,
        });
        const more = rows.length > limit;
        if (more) rows.length = limit;
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
          ]
            .filter(Boolean)
            .join('  '),
        );
        if (more && !values.json) err(`(the ${limit} newest shown; --limit N for more, --all for every one)\n`);
        return 0;
      }
      case 'oppositions': {
        const rows = await stores.oppositions.list(controller, Number.isFinite(limit) ? limit + 1 : 1_000_000);
        const more = rows.length > limit;
        if (more) rows.length = limit;
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
        const subject = target.startsWith('@')
          ? (() => {
              const domain = normaliseDomain(target.slice(1));
              return domain ? domainSubject(domain) : null;
            })()
          : (normaliseAddress(target)?.address ?? null);
        if (!subject) {
          err(`"${target}" is neither an address nor @domain\n`);
          return 2;
        }
        const now = new Date().toISOString();
        const result = await stores.oppositions.add({
          controller,
          subject,
          origin: 'manual',
          requestedAt: now,
          effectiveAt: now,
          evidence: { by: process.env.USER ?? 'cli', ...(values.note ? { note: values.note } : {}) },
        });
        out(
          result.created
            ? `${subject} is now on ${controller}'s opposition list\n`
            : `${subject} was already on the list (origin ${result.entry.origin}, since ${result.entry.effectiveAt})\n`,
        );
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
          await store.save(parsed.data);
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
        });
        return summary.refused > 0 ? 1 : 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    db.destroy();
  }
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
    else if (failure instanceof StoreUnavailableError)
      err(`${failure.message}\nIs DynamoDB reachable? For the local stack, run "npm start" first.\n`);
    else err(`${(failure as Error).stack ?? String(failure)}\n`);
    process.exit(1);
  },
);
