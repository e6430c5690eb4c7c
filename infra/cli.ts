import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { normaliseAddress, normaliseDomain } from '../shared/address.ts';
import type { FairsendConfig } from '../shared/config.ts';
import { ConfigError, StoreUnavailableError } from '../shared/errors.ts';
import { hashPassword } from '../shared/password.ts';
import { printableLines } from '../shared/printable.ts';
import type { BlockedSend } from '../shared/stores/blocked-sends.ts';
import { contactSchema } from '../shared/stores/contacts.ts';
import { createDynamoClient } from '../shared/stores/dynamo.ts';
import { createStores } from '../shared/stores/index.ts';
import { domainSubject, type Opposition } from '../shared/stores/opposition-list.ts';
import type { SentCopy } from '../shared/stores/send-log.ts';
import { importContacts } from './contacts-import.ts';
import { loadLocalConfig } from './local/local-config.ts';

/** Every line the CLI prints goes through printableLines: data from mail cannot drive the admin's terminal. */
const out = (text: string) => process.stdout.write(printableLines(text));
const err = (text: string) => process.stderr.write(printableLines(text));

const USAGE = `usage: npm run fairsend -- <command> [options]

  blocked [--controller ID] [--limit N] [--json]      refused recipients, newest first
  oppositions [--controller ID] [--json]              the opposition list
  oppose <address|@domain> [--controller ID] [--note TEXT]
                                                      add an opposition (origin "manual")
  sent <address> [--controller ID] [--json]           copies sent to one person
  contact <address> [--controller ID] [--source TEXT] [--obtained YYYY-MM-DD]
          [--profession TEXT] [--company TEXT] [--professional] [--language fr|en|de]
          [--reason TEXT] [--consent HOW]             record what you know about a person
  contact <address> --show                            show the record
  contacts import <file.csv> [--controller ID] [--dry-run]
                                                      import contacts (columns: address, source, obtainedAt,
                                                      profession, company, professional, language, reason,
                                                      consentAt, consentHow); shows progress, lists refused rows
  hash-password                                       read a password on stdin, print its scrypt hash

The config is FAIRSEND_CONFIG (default: the local demo config); for the local stack,
"npm start" must be running.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      controller: { type: 'string' },
      limit: { type: 'string' },
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
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (!command || values.help) {
    out(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }

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
        const limit = values.limit ? Number(values.limit) : 50;
        const rows = await stores.blockedSends.list(controller, { limit });
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
        return 0;
      }
      case 'oppositions': {
        const rows = await stores.oppositions.list(controller);
        print(
          rows,
          (r: Opposition) =>
            `${r.subject}  origin=${r.origin}  requested=${r.requestedAt}  effective=${r.effectiveAt}  ${JSON.stringify(r.evidence)}`,
        );
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
        out(`${JSON.stringify(contact ?? null, null, 2)}\n`);
        return 0;
      }
      case 'contacts': {
        if (rest[0] !== 'import' || !rest[1]) {
          err('usage: npm run fairsend -- contacts import <file.csv> [--controller ID] [--dry-run]\n');
          return 2;
        }
        const store = stores.contacts;
        const summary = await importContacts(rest[1], controller, values['dry-run'] ? null : store);
        return summary.refused > 0 ? 1 : 0;
      }
      default:
        err(`unknown command "${command}"\n\n${USAGE}\n`);
        return 2;
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
