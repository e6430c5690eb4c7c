import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { normaliseAddress, normaliseDomain, patternWithin } from './address.ts';
import { ConfigError } from './errors.ts';
import { templateError } from './footer.ts';
import { PASSWORD_HASH_PATTERN } from './password.ts';

/**
 * The one configuration schema: the proxy, the Lambdas, the local stack and the CDK app all
 * load it through `loadConfig`. Secrets (password hashes, token keys) may come from the
 * environment: `FAIRSEND__a__b__c=value` sets field `a.b.c` (see README, "Configuration").
 */

export const LANGUAGES = ['fr', 'en', 'de'] as const;
export const language = z.enum(LANGUAGES);
export type Language = z.infer<typeof language>;

const id = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use lower-case letters, digits and dashes (max 63)');

export const senderPattern = z.string().refine((value) => {
  return value.includes('@') ? normaliseAddress(value) !== null : normaliseDomain(value) !== null;
}, 'must be an address (alice@acme.example) or a domain (acme.example)');

/** Text given once, or per language. */
const localisedText = z.union([z.string().min(1), z.partialRecord(language, z.string().min(1))]);
export type LocalisedText = z.infer<typeof localisedText>;

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();

export const controllerSchema = z.object({
  legalName: z.string().min(1),
  postalAddress: z.string().min(1),
  contactEmail: z.email(),
  /** Where data subjects exercise their rights (object, access, erase); defaults to contactEmail. */
  privacyEmail: z.email().optional(),
  website: z.url().optional(),
  defaultLanguage: language.default('fr'),
  /** Domains or addresses this company may send from. */
  allowedSenders: z.array(senderPattern).min(1),
  /** An opposition of `carol@x` also covers `carol+anything@x` (the same mailbox at most providers). */
  oppositionCoversSubaddresses: z.boolean().default(true),
  /** Last-resort data source for the first-contact notice (message header > contact > purpose > this); text or per language. */
  defaultDataSource: localisedText.optional(),
  /** Footer templates replacing the built-in ones, per language (see README, "Footer templates"). */
  footerTemplates: z
    .partialRecord(language, z.object({ text: z.string().min(1), html: z.string().min(1) }))
    .default({}),
});

export const purposeSchema = z.object({
  controller: id,
  description: z.string().min(1),
  legalBasis: z.enum(['legitimate-interest', 'consent']),
  /** Default "why you receive this message" text. */
  reason: localisedText,
  /** Default data source for the first-contact notice, e.g. "the Salon IT Paris 2026 visitor list"; text or per language, like `reason`. */
  dataSource: localisedText.optional(),
  /** Professions this purpose targets; a recipient recorded with another one is flagged or blocked. */
  targetProfessions: z.array(z.string().min(1)).optional(),
  /** For the register of processing (GDPR art. 30): whom it concerns and what data. */
  categoriesOfPeople: localisedText.optional(),
  categoriesOfData: localisedText.optional(),
  /** Who receives the data besides the company and its processors (none by default). */
  recipients: localisedText.optional(),
  /**
   * Legitimate interest only, and required for it (CNIL, EDPB guidelines 1/2024): the interest
   * pursued, why the processing is necessary to it, and why the people's rights do not override it.
   */
  balancingTest: z.object({ interest: localisedText, necessity: localisedText, balance: localisedText }).optional(),
  /** Consent only, and required for it: how consent is collected, and how it is proven. */
  consentCollection: z.object({ how: localisedText, proof: localisedText }).optional(),
  professionMismatch: z.enum(['warn', 'block']).default('warn'),
  /** A legitimate-interest purpose sent to a consumer mailbox with no professional record. */
  consumerMailbox: z.enum(['warn', 'block']).default('block'),
});

export const smtpUserSchema = z.object({
  passwordHash: z.string().regex(PASSWORD_HASH_PATTERN, 'must be an scrypt hash (npm run fairsend -- hash-password)'),
  controller: id,
  /** Envelope senders and header From addresses this user may use. */
  allowedFrom: z.array(senderPattern).min(1),
  defaultPurpose: id.optional(),
  /**
   * What a refused recipient (opposed, blocked by the policy) does to the message: `reject` refuses
   * it at RCPT (or the whole message at DATA), for programs that read per-recipient replies;
   * `drop-and-notify` accepts it, does not send to it, and mails the sender a notice (RFC 3464),
   * for desktop clients that abort the whole message when one recipient is refused.
   */
  refusalMode: z.enum(['reject', 'drop-and-notify']).default('reject'),
});

const tableNames = z.object({
  oppositions: z.string().min(3).default('fairsend-oppositions'),
  blockedSends: z.string().min(3).default('fairsend-blocked-sends'),
  sendLog: z.string().min(3).default('fairsend-send-log'),
  contacts: z.string().min(3).default('fairsend-contacts'),
  /** Console accounts and sessions, and SMTP users managed in the console. */
  admin: z.string().min(3).default('fairsend-admin'),
  /** The audit trail: append-only. */
  audit: z.string().min(3).default('fairsend-audit'),
});

export const configSchema = z
  .object({
    controllers: z
      .record(id, controllerSchema)
      .refine((v) => Object.keys(v).length > 0, 'declare at least one controller'),
    purposes: z.record(id, purposeSchema),
    smtpUsers: z.record(z.string().regex(/^[A-Za-z0-9._@+-]{1,128}$/, 'invalid user name'), smtpUserSchema),
    smtp: z
      .object({
        host: z.string().default('127.0.0.1'),
        /** Submission with STARTTLS (RFC 6409); 587 in production. */
        starttlsPort: port.default(2587),
        /** Submission with implicit TLS (RFC 8314); 465 in production. */
        implicitTlsPort: port.default(2465),
        /** Name in the greeting and EHLO reply. */
        hostname: z.string().default('localhost'),
        tls: z.object({ keyFile: z.string().min(1), certFile: z.string().min(1) }).optional(),
        /** SES v2 accepts 40 MB raw messages. */
        maxMessageBytes: positiveInt.max(40 * 1024 * 1024).default(40 * 1024 * 1024),
        maxRecipients: positiveInt.default(100),
        /** Refused recipients (opposed, invalid) one transaction may name before the connection is closed (421). */
        maxRefusedRecipients: positiveInt.default(50),
        /** Connections across both listeners (STARTTLS and implicit TLS), counted from TCP accept. */
        maxConnections: positiveInt.default(2000),
        /** Connections one client address may hold at once, so one client cannot lock the others out. */
        maxConnectionsPerIp: positiveInt.default(50),
        /** A connection must have logged in within this time after connecting, or it is closed (421). */
        authTimeoutMs: positiveInt.default(30_000),
        /** MAIL FROM to the end of DATA: a transaction kept open longer is closed (421). */
        maxTransactionMs: positiveInt.default(15 * 60_000),
        /** The DATA transfer itself: a client trickling bytes longer than this is closed (421). */
        maxDataMs: positiveInt.default(10 * 60_000),
        /** Bytes of DATA held in memory by all transactions at once; beyond it new messages get 452 4.3.1. */
        maxDataBytesInFlight: positiveInt.default(512 * 1024 * 1024),
        /** Failed logins: a growing delay, then a temporary refusal (454 4.7.0) within the window. */
        loginThrottle: z
          .object({
            windowMinutes: positiveInt.default(15),
            maxFailuresPerIp: positiveInt.default(20),
            maxFailuresPerUser: positiveInt.default(30),
            maxFailuresPerConnection: positiveInt.default(3),
            /** The first failure's delay; each further one in the window doubles it, up to 4 s. */
            baseDelayMs: z.number().int().min(0).max(4000).default(250),
            maxDelayMs: z.number().int().min(0).max(30_000).default(4000),
          })
          .prefault({}),
        /**
         * Behind a load balancer that sends PROXY protocol v2 (AWS's NLB): connections from these
         * networks start with a PROXY header giving the client's address, which limits, login
         * throttling and logs then use. The deployed stack sets it to its VPC; absent: none.
         */
        proxyProtocol: z
          .object({
            trustedCidrs: z
              .array(z.string().regex(/^[\d.]+\/\d{1,2}$|^[0-9a-f:]+\/\d{1,3}$/i, 'a network as a.b.c.d/n'))
              .min(1),
          })
          .optional(),
        /** How often each relay reads the SMTP users managed in the console. */
        userRefreshMs: positiveInt.min(100).default(5000),
        socketTimeoutMs: positiveInt.default(60_000),
        /** smtp-server's early-talker delay before the greeting; useless on authenticated submission. */
        greetingDelayMs: z.number().int().min(0).max(10_000).default(0),
        closeTimeoutMs: positiveInt.default(30_000),
      })
      .prefault({}),
    dynamodb: z
      .object({
        region: z.string().min(1).default('eu-west-3'),
        endpoint: z.url().optional(),
        requestTimeoutMs: positiveInt.default(3000),
        tables: tableNames.prefault({}),
      })
      .prefault({}),
    ses: z
      .object({
        region: z.string().min(1).default('eu-west-3'),
        endpoint: z.url().optional(),
        configurationSet: z.string().min(1).optional(),
        /** SES account's maximum send rate (messages per second). */
        maxSendRate: z.number().positive().default(14),
        /**
         * Share maxSendRate among the relay processes alive (heartbeats in DynamoDB every
         * fleetHeartbeatMs), so a fleet keeps to the account's rate; off: each process keeps all of it.
         */
        fleetWide: z.boolean().default(false),
        fleetHeartbeatMs: positiveInt.min(100).default(15_000),
        /** Copies of one message sent at once. */
        sendConcurrency: positiveInt.max(50).default(10),
        requestTimeoutMs: positiveInt.default(15_000),
        /** How long one copy may be retried (throttling, 5xx) before the client gets 451. */
        retryDeadlineMs: positiveInt.default(30_000),
        /**
         * Copies larger than this are streamed to SES by Fairsend's own signed request; smaller ones
         * go through the SDK's SendEmail. 0 (the default): every copy is streamed, which costs half
         * the CPU of the SDK's path and holds no copy in memory (the performance issue).
         */
        streamAboveBytes: z.number().int().min(0).default(0),
        /** A retried message within this window does not resend copies SES already took. */
        idempotencyWindowHours: positiveInt.default(7 * 24),
      })
      .prefault({}),
    tokens: z.object({
      /** Key id used for new unsubscribe tokens. */
      activeKeyId: z.string().regex(/^[a-z0-9]{1,16}$/, 'use 1 to 16 lower-case letters or digits'),
      /** Every key still accepted (secrets: set them from the environment). */
      keys: z.record(
        z.string().regex(/^[a-z0-9]{1,16}$/),
        z.string().min(32, 'use a secret of at least 32 characters'),
      ),
      /** How long a link in a sent message keeps working. */
      maxAgeDays: positiveInt.min(365).default(730),
    }),
    unsubscribe: z
      .object({
        /** mailto: target of List-Unsubscribe; the token travels in the subject. */
        mailto: z.email().optional(),
      })
      .prefault({}),
    policy: z
      .object({
        /** Consumer mailbox domains; replaces the shipped list when given. */
        consumerDomains: z.array(z.string().min(3)).optional(),
        /** Added to the shipped (or given) list. */
        extraConsumerDomains: z.array(z.string().min(3)).default([]),
        /** A From display name that is an address at another domain ("ceo@bank.example" <alice@acme.example>): flag it for review, refuse it, or let it be. */
        addressLikeDisplayName: z.enum(['warn', 'block', 'off']).default('warn'),
        /** A first-contact claim by a message never sent expires after this long. */
        firstContactClaimHours: positiveInt.default(24),
      })
      .prefault({}),
    feedback: z
      .object({
        /** Transient bounces within the window that suppress an address. */
        softBounceLimit: positiveInt.default(3),
        softBounceWindowDays: positiveInt.default(14),
      })
      .prefault({}),
    /** Data-subject requests (GDPR art. 15–21). */
    privacy: z
      .object({
        /**
         * The key of the keyed hash (HMAC-SHA-256) an erased person's opposition is kept under, so
         * they are never written to again while their address is gone. Secret; never change it
         * (earlier hashes would no longer match). Locally generated; in AWS a retained secret.
         */
        erasureKey: z.string().min(32, 'use a secret of at least 32 characters').optional(),
        /** Days to answer a request (art. 12(3): one month), and the most an extension may add (two months). */
        answerWithinDays: positiveInt.default(30),
        extensionDays: positiveInt.default(60),
      })
      .prefault({}),
    /**
     * How long each kind of data is kept, in months (see README, "Retention"). Items carry an
     * `expires` attribute (epoch seconds): DynamoDB's TTL deletes them in AWS, the local stack's
     * purge locally. Oppositions have none: they are kept as long as they must be honoured.
     */
    retention: z
      .object({
        /** A prospect's record, counted from its collection or last update (CNIL: 3 years from collection or the prospect's last contact). */
        contactsMonths: positiveInt.default(36),
        /** Copies sent (the proof of what was sent, to whom, with which notice). */
        sendLogMonths: positiveInt.default(36),
        /** Refused and flagged recipients (proof that an objection was honoured). */
        blockedSendsMonths: positiveInt.default(36),
        /** What SES reported of each copy (deliveries, bounces, complaints). */
        sesEventsMonths: positiveInt.default(36),
        /** The audit trail of admins' changes. */
        auditMonths: positiveInt.default(60),
        /** Data-subject requests and how they were answered (proof of compliance). */
        requestsMonths: positiveInt.default(60),
      })
      .prefault({}),
    /** How the CDK app deploys (read at synth only; the relay and the Lambdas ignore it). */
    deploy: z
      .object({
        /** An existing secret `{"key": "<PEM>", "cert": "<PEM chain>"}`; without it the relay runs no task yet. */
        tlsSecretArn: z
          .string()
          .regex(/^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:.+$/, 'must be a Secrets Manager secret ARN')
          .optional(),
        /** Relay tasks once a certificate exists (the fleet scales from here to 5×). */
        relayTasks: positiveInt.default(2),
        /** Who the alarms e-mail (an SNS subscription to confirm). */
        alarmEmail: z.email().optional(),
        /** Client networks that may reach the SMTP ports of the load balancer. */
        clientCidrs: z
          .array(z.string().regex(/^[\d.]+\/\d{1,2}$|^[0-9a-f:]+\/\d{1,3}$/i))
          .min(1)
          .default(['0.0.0.0/0']),
        logRetentionDays: positiveInt.default(90),
        /** Where SES receives the `mailto:` unsubscribes (a region where SES receives mail); default: see README. */
        mailtoRegion: z
          .string()
          .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1')
          .optional(),
        /** `nat`: relay tasks in private subnets behind a NAT gateway; `public`: public IPs, no NAT (cheaper). */
        network: z.enum(['nat', 'public']).default('nat'),
        /** Each relay task: `standard` 1 vCPU / 2 GB, `small` 0.5 vCPU / 1 GB (keep smtp.maxDataBytesInFlight ≤ 256 MB). */
        relaySize: z.enum(['standard', 'small']).default('standard'),
        /** Recipients refused in an hour (across the fleet) that raise the blocked-sends alarm. */
        blockedSpikePerHour: positiveInt.default(200),
        /** The unsubscribe-token secret's first key id: fixed, so changing tokens.activeKeyId never regenerates it. */
        initialTokenKeyId: z
          .string()
          .regex(/^[a-z0-9]{1,16}$/)
          .default('k1'),
      })
      .prefault({}),
    http: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: port.default(8787),
        /** Public base URL of the unsubscribe endpoint, as recipients see it. */
        publicBaseUrl: z.url().default('http://127.0.0.1:8787'),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    if (config.ses.retryDeadlineMs < config.ses.requestTimeoutMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['ses', 'retryDeadlineMs'],
        message: `must be at least ses.requestTimeoutMs (${config.ses.requestTimeoutMs}), or a hung request leaves no time to retry`,
      });
    }
    if (!config.tokens.keys[config.tokens.activeKeyId]) {
      ctx.addIssue({
        code: 'custom',
        path: ['tokens', 'activeKeyId'],
        message: `no key "${config.tokens.activeKeyId}" in tokens.keys`,
      });
    }
    const controllers = Object.keys(config.controllers);
    const known = controllers.join(', ');
    for (const [controllerId, controller] of Object.entries(config.controllers)) {
      for (const [lang, templates] of Object.entries(controller.footerTemplates)) {
        for (const kind of ['text', 'html'] as const) {
          const problem = templateError(templates[kind]);
          if (problem) {
            ctx.addIssue({
              code: 'custom',
              path: ['controllers', controllerId, 'footerTemplates', lang, kind],
              message: `not a valid Mustache template: ${problem}`,
            });
          }
        }
      }
    }
    for (const [purposeId, purpose] of Object.entries(config.purposes)) {
      if (purpose.legalBasis === 'legitimate-interest' && !purpose.balancingTest) {
        ctx.addIssue({
          code: 'custom',
          path: ['purposes', purposeId, 'balancingTest'],
          message:
            'a legitimate-interest purpose needs its balancing test: { "interest": …, "necessity": …, "balance": … } (it goes into the register of processing)',
        });
      }
      if (purpose.legalBasis === 'consent' && !purpose.consentCollection) {
        ctx.addIssue({
          code: 'custom',
          path: ['purposes', purposeId, 'consentCollection'],
          message: 'a consent purpose needs { "how": …, "proof": … }: how consent is collected and proven',
        });
      }
      if (!config.controllers[purpose.controller]) {
        ctx.addIssue({
          code: 'custom',
          path: ['purposes', purposeId, 'controller'],
          message: `unknown controller "${purpose.controller}" (known: ${known})`,
        });
      }
    }
    for (const [user, entry] of Object.entries(config.smtpUsers)) {
      for (const problem of smtpUserProblems(config, entry)) {
        ctx.addIssue({ code: 'custom', path: ['smtpUsers', user, ...problem.path], message: problem.message });
      }
    }
  });

/**
 * What is wrong with an SMTP user given this config's controllers and purposes: the config file's
 * check and the console's, so a user added in the console obeys the same rules.
 */
export function smtpUserProblems(
  config: Pick<z.infer<typeof configSchema>, 'controllers' | 'purposes'>,
  entry: Pick<SmtpUser, 'controller' | 'defaultPurpose' | 'allowedFrom'>,
): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const controller = config.controllers[entry.controller];
  if (!controller) {
    const known = Object.keys(config.controllers).join(', ');
    return [{ path: ['controller'], message: `unknown controller "${entry.controller}" (known: ${known})` }];
  }
  if (entry.defaultPurpose) {
    const purpose = config.purposes[entry.defaultPurpose];
    if (!purpose || purpose.controller !== entry.controller) {
      problems.push({
        path: ['defaultPurpose'],
        message: `no purpose "${entry.defaultPurpose}" for controller "${entry.controller}"`,
      });
    }
  }
  entry.allowedFrom.forEach((pattern, index) => {
    if (!senderWithin(pattern, controller.allowedSenders)) {
      problems.push({
        path: ['allowedFrom', index],
        message: `"${pattern}" is not within controller "${entry.controller}"'s allowedSenders`,
      });
    }
  });
  return problems;
}

export type FairsendConfig = z.infer<typeof configSchema>;
export type Controller = z.infer<typeof controllerSchema>;
export type Purpose = z.infer<typeof purposeSchema>;
export type SmtpUser = z.infer<typeof smtpUserSchema>;

/** Is a user's sender pattern covered by the controller's? */
function senderWithin(pattern: string, allowed: string[]): boolean {
  return allowed.some((a) => patternWithin(pattern, a));
}

const ENV_PREFIX = 'FAIRSEND__';

/** Applies `FAIRSEND__a__b=value` overrides; values are JSON when they parse as JSON. */
export function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  const root = (raw && typeof raw === 'object' ? structuredClone(raw) : {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__');
    let node = root;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (!next || typeof next !== 'object') node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path.at(-1)!] = parseEnvValue(value);
  }
  return root;
}

function parseEnvValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Validates a parsed config; throws ConfigError naming every bad field. */
export function parseConfig(raw: unknown, source = 'config'): FairsendConfig {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
  const lines = issues.map((i) => `  ${i.path}: ${i.message}`).join('\n');
  throw new ConfigError(`invalid configuration in ${source}:\n${lines}`, issues);
}

/** Reads a JSON config file, applies the environment overrides, validates. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): FairsendConfig {
  const { raw, origin } = readRawConfig(env, file);
  return parseConfig(raw, origin);
}

/**
 * What every process starts from, before its own additions (local secrets, the token keys from
 * Secrets Manager, deploy placeholders) and the one `parseConfig`: the JSON in
 * `FAIRSEND_CONFIG_JSON` if set, else the file `FAIRSEND_CONFIG` names (else `defaultFile`), with
 * the `FAIRSEND__…` overrides applied.
 */
export function readRawConfig(
  env: NodeJS.ProcessEnv,
  defaultFile: string,
): { raw: Record<string, unknown>; origin: string } {
  if (env.FAIRSEND_CONFIG_JSON) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.FAIRSEND_CONFIG_JSON);
    } catch (err) {
      throw new ConfigError(`FAIRSEND_CONFIG_JSON is not valid JSON: ${(err as Error).message}`);
    }
    return { raw: applyEnvOverrides(parsed, env) as Record<string, unknown>, origin: 'FAIRSEND_CONFIG_JSON' };
  }
  const file = env.FAIRSEND_CONFIG ?? defaultFile;
  return { raw: applyEnvOverrides(readConfigFile(file), env) as Record<string, unknown>, origin: file };
}

/** The JSON in a config file, or a ConfigError saying whether it could not be read or is not JSON. */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The text in the wanted language, else the first one given. */
export function localise(text: LocalisedText, lang: Language): string {
  if (typeof text === 'string') return text;
  return text[lang] ?? Object.values(text).find((v) => v !== undefined) ?? '';
}
