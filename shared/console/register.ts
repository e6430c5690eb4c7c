import type { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type FairsendConfig, type Language, type LocalisedText, localise } from '../config.ts';
import { isExpired, retentionOf } from '../retention.ts';
import type { Stores } from '../stores/index.ts';

/**
 * The register of processing activities (GDPR art. 30(1)), generated from the configuration —
 * one entry per controller and purpose: purpose, legal basis, people and data, sources,
 * recipients and processors (AWS, with the region and whether data leaves the EU), retention,
 * security measures, the balancing test or how consent is collected — with live figures from the
 * tables. `fairsend register` (Markdown, JSON) and the console's printable page both render it.
 */
export interface RegisterFigures {
  peopleBySource: Record<string, number>;
  copiesByPurpose: Record<string, number>;
  oppositionsByOrigin: Record<string, number>;
  requests: { received: number; answered: number; open: number; late: number; medianDays?: number; maxDays?: number };
}

export interface RegisterEntry {
  purpose: string;
  description: string;
  legalBasis: 'legitimate-interest' | 'consent';
  categoriesOfPeople: string;
  categoriesOfData: string;
  dataSources: string[];
  recipients: string;
  balancingTest?: { interest: string; necessity: string; balance: string };
  consentCollection?: { how: string; proof: string };
  copiesLast12Months: number;
}

export interface ControllerRegister {
  id: string;
  legalName: string;
  postalAddress: string;
  contactEmail: string;
  privacyEmail: string;
  website?: string;
  entries: RegisterEntry[];
  processors: { name: string; service: string; region: string; leavesEu: string }[];
  retention: { kind: string; period: string }[];
  security: string[];
  figures: RegisterFigures;
}

export interface Register {
  generatedAt: string;
  language: 'fr' | 'en';
  controllers: ControllerRegister[];
}

const T = {
  fr: {
    title: 'Registre des activités de traitement (RGPD, art. 30)',
    generated: 'Établi le',
    controller: 'Responsable du traitement',
    contact: 'Contact',
    privacy: 'Exercice des droits',
    purpose: 'Finalité',
    basis: 'Base légale',
    lawful: { 'legitimate-interest': 'intérêt légitime (art. 6(1)(f))', consent: 'consentement (art. 6(1)(a))' },
    people: 'Personnes concernées',
    data: 'Catégories de données',
    sources: 'Sources des données',
    recipients: 'Destinataires',
    processors: 'Sous-traitants',
    retention: 'Durées de conservation',
    security: 'Mesures de sécurité',
    balancing: 'Mise en balance (intérêt légitime)',
    interest: 'Intérêt poursuivi',
    necessity: 'Nécessité',
    balance: 'Mise en balance',
    consent: 'Recueil du consentement',
    how: 'Comment',
    proof: 'Preuve',
    figures: 'Chiffres',
    copies: 'copies envoyées sur 12 mois',
    peopleBySource: 'Personnes enregistrées, par source',
    oppositionsByOrigin: 'Oppositions, par origine',
    requests: 'Demandes des personnes',
    requestsLine: (r: RegisterFigures['requests']) =>
      `${r.received} reçues, ${r.answered} traitées, ${r.open} en cours, ${r.late} hors délai${r.medianDays !== undefined ? `; délai médian ${r.medianDays} j, maximal ${r.maxDays} j` : ''}`,
    none: 'aucun',
    unset: '(à compléter dans la configuration)',
    noRecipients: 'aucun en dehors du responsable et de ses sous-traitants',
    months: (n: number) => `${n} mois`,
  },
  en: {
    title: 'Record of processing activities (GDPR art. 30)',
    generated: 'Generated on',
    controller: 'Controller',
    contact: 'Contact',
    privacy: 'Data-subject requests',
    purpose: 'Purpose',
    basis: 'Legal basis',
    lawful: { 'legitimate-interest': 'legitimate interest (art. 6(1)(f))', consent: 'consent (art. 6(1)(a))' },
    people: 'Categories of people',
    data: 'Categories of data',
    sources: 'Data sources',
    recipients: 'Recipients',
    processors: 'Processors',
    retention: 'Retention periods',
    security: 'Security measures',
    balancing: 'Balancing test (legitimate interest)',
    interest: 'Interest pursued',
    necessity: 'Necessity',
    balance: 'Balance',
    consent: 'How consent is collected',
    how: 'How',
    proof: 'Proof',
    figures: 'Figures',
    copies: 'copies sent in the last 12 months',
    peopleBySource: 'People held, by source',
    oppositionsByOrigin: 'Oppositions, by origin',
    requests: 'Data-subject requests',
    requestsLine: (r: RegisterFigures['requests']) =>
      `${r.received} received, ${r.answered} answered, ${r.open} open, ${r.late} late${r.medianDays !== undefined ? `; median ${r.medianDays} days, longest ${r.maxDays} days` : ''}`,
    none: 'none',
    unset: '(to fill in in the configuration)',
    noRecipients: 'none besides the controller and its processors',
    months: (n: number) => `${n} months`,
  },
} as const;

export function registerLanguage(lang: string | undefined): 'fr' | 'en' {
  return lang === 'en' ? 'en' : 'fr';
}

export class RegisterService {
  constructor(
    private readonly config: FairsendConfig,
    private readonly stores: Stores,
  ) {}

  private query(input: ConstructorParameters<typeof QueryCommand>[0]) {
    return this.stores.query(input);
  }

  async build(lang: 'fr' | 'en', controllerId?: string, now = new Date()): Promise<Register> {
    const t = T[lang];
    const text = (v: LocalisedText | undefined) => (v ? localise(v, lang as Language) : t.unset);
    const ids = controllerId ? [controllerId] : Object.keys(this.config.controllers);
    const retention = retentionOf(this.config);
    const sesRegion = this.config.ses.region;
    const dbRegion = this.config.dynamodb.region;
    const inEu = (region: string) =>
      region.startsWith('eu-')
        ? lang === 'fr'
          ? `non (région UE ${region})`
          : `no (EU region ${region})`
        : lang === 'fr'
          ? `oui (région ${region} hors UE : clauses contractuelles types)`
          : `yes (region ${region} outside the EU: standard contractual clauses)`;
    const controllers: ControllerRegister[] = [];
    for (const id of ids) {
      const c = this.config.controllers[id]!;
      const figures = await this.figures(id, now);
      const purposes = Object.entries(this.config.purposes).filter(([, p]) => p.controller === id);
      controllers.push({
        id,
        legalName: c.legalName,
        postalAddress: c.postalAddress,
        contactEmail: c.contactEmail,
        privacyEmail: c.privacyEmail ?? c.contactEmail,
        ...(c.website ? { website: c.website } : {}),
        entries: purposes.map(([pid, p]) => ({
          purpose: pid,
          description: p.description,
          legalBasis: p.legalBasis,
          categoriesOfPeople: text(p.categoriesOfPeople),
          categoriesOfData: text(p.categoriesOfData),
          dataSources: [
            ...(p.dataSource ? [localise(p.dataSource, lang)] : []),
            ...(c.defaultDataSource ? [localise(c.defaultDataSource, lang)] : []),
            lang === 'fr'
              ? 'la source enregistrée dans la fiche de chaque contact'
              : "the source recorded in each contact's record",
          ],
          recipients: p.recipients ? localise(p.recipients, lang) : t.noRecipients,
          ...(p.balancingTest
            ? {
                balancingTest: {
                  interest: localise(p.balancingTest.interest, lang),
                  necessity: localise(p.balancingTest.necessity, lang),
                  balance: localise(p.balancingTest.balance, lang),
                },
              }
            : {}),
          ...(p.consentCollection
            ? {
                consentCollection: {
                  how: localise(p.consentCollection.how, lang),
                  proof: localise(p.consentCollection.proof, lang),
                },
              }
            : {}),
          copiesLast12Months: figures.copiesByPurpose[pid] ?? 0,
        })),
        processors: [
          {
            name: 'Amazon Web Services EMEA SARL',
            service: lang === 'fr' ? 'Amazon SES : envoi des messages' : 'Amazon SES: sending the messages',
            region: sesRegion,
            leavesEu: inEu(sesRegion),
          },
          {
            name: 'Amazon Web Services EMEA SARL',
            service:
              lang === 'fr'
                ? 'Amazon DynamoDB : stockage (listes, journaux, contacts)'
                : 'Amazon DynamoDB: storage (lists, logs, contacts)',
            region: dbRegion,
            leavesEu: inEu(dbRegion),
          },
          {
            name: 'Amazon Web Services EMEA SARL',
            service:
              lang === 'fr'
                ? 'AWS Lambda, API Gateway, ECS Fargate : traitements'
                : 'AWS Lambda, API Gateway, ECS Fargate: processing',
            region: sesRegion,
            leavesEu: inEu(sesRegion),
          },
        ],
        retention: [
          [
            lang === 'fr'
              ? 'Prospects (depuis la collecte ou le dernier contact émanant du prospect)'
              : 'Prospects (from collection or the last contact coming from the prospect)',
            retention.contactsMonths,
          ],
          [lang === 'fr' ? 'Journal des envois (preuve)' : 'Send log (proof)', retention.sendLogMonths],
          [lang === 'fr' ? 'Envois bloqués et signalés' : 'Blocked and flagged sends', retention.blockedSendsMonths],
          [
            lang === 'fr'
              ? 'Événements SES (remises, rebonds, plaintes)'
              : 'SES events (deliveries, bounces, complaints)',
            retention.sesEventsMonths,
          ],
          [lang === 'fr' ? 'Journal d’audit' : 'Audit trail', retention.auditMonths],
          [lang === 'fr' ? 'Demandes des personnes' : 'Data-subject requests', retention.requestsMonths],
        ]
          .map(([kind, months]) => ({ kind: String(kind), period: t.months(Number(months)) }))
          .concat([
            {
              kind: lang === 'fr' ? 'Enregistrements d’idempotence' : 'Idempotency records',
              period: `${retention.idempotencyHours} h`,
            },
            {
              kind: lang === 'fr' ? 'Oppositions' : 'Oppositions',
              period:
                lang === 'fr'
                  ? 'tant qu’elles doivent être respectées ; après effacement, sous forme de hachage à clé'
                  : 'as long as they must be honoured; after an erasure, as a keyed hash',
            },
          ]),
        security:
          lang === 'fr'
            ? [
                'SMTP uniquement en TLS (STARTTLS ou TLS implicite), authentification obligatoire, pas de relais ouvert',
                'mots de passe hachés (scrypt), limitation des échecs de connexion',
                'moindre privilège IAM : chaque composant n’a que les actions qu’il appelle, sur ses tables',
                'liens de désinscription signés (HMAC), clés dans AWS Secrets Manager',
                'tables chiffrées au repos, sauvegarde continue (PITR), protection contre la suppression',
                'console d’administration authentifiée (sessions, CSRF, rôles), journal d’audit en ajout seul',
                'personnes effacées conservées sous forme de hachage à clé (HMAC-SHA-256)',
              ]
            : [
                'SMTP only over TLS (STARTTLS or implicit TLS), authentication required, no open relay',
                'passwords hashed (scrypt), failed logins throttled',
                'least-privilege IAM: each part has only the actions it calls, on its own tables',
                'signed unsubscribe links (HMAC), keys in AWS Secrets Manager',
                'tables encrypted at rest, point-in-time recovery, deletion protection',
                'authenticated admin console (sessions, CSRF, roles), append-only audit trail',
                'erased people kept only as a keyed hash (HMAC-SHA-256)',
              ],
        figures,
      });
    }
    return { generatedAt: now.toISOString(), language: lang, controllers };
  }

  private async figures(controller: string, now: Date): Promise<RegisterFigures> {
    const count = (items: Record<string, unknown>[], key: string, fallback: string) => {
      const out: Record<string, number> = {};
      for (const item of items) {
        const k = typeof item[key] === 'string' && item[key] ? String(item[key]) : fallback;
        out[k] = (out[k] ?? 0) + 1;
      }
      return out;
    };
    const tables = this.config.dynamodb.tables;
    const yearAgo = new Date(now.getTime() - 365 * 86_400_000).toISOString();
    const [contacts, copies, oppositions, requests] = await Promise.all([
      this.query({
        TableName: tables.contacts,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': controller },
        ProjectionExpression: '#s, expires, firstContactAt',
        ExpressionAttributeNames: { '#s': 'source' },
      }),
      this.query({
        TableName: tables.sendLog,
        IndexName: 'byKind',
        KeyConditionExpression: 'gKind = :k AND gAt >= :from',
        ExpressionAttributeValues: { ':k': `${controller}#sent`, ':from': yearAgo },
        ProjectionExpression: 'purpose',
      }),
      this.query({
        TableName: tables.oppositions,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': controller },
        ProjectionExpression: 'origin',
      }),
      this.stores.admin.requests(),
    ]);
    const mine = requests.filter((r) => r.controller === controller);
    const delays = mine
      .filter((r) => r.closedAt)
      .map((r) => Math.round((Date.parse(r.closedAt!) - Date.parse(r.receivedAt)) / 86_400_000))
      .sort((a, b) => a - b);
    const late = mine.filter((r) => {
      const due = Date.parse(r.extension?.until ?? r.deadline);
      return r.closedAt ? Date.parse(r.closedAt) > due : now.getTime() > due;
    }).length;
    return {
      peopleBySource: count(
        contacts.filter((c) => !isExpired(c, now.getTime()) && (c.source || c.firstContactAt)),
        'source',
        '(default of the purpose)',
      ),
      copiesByPurpose: count(copies, 'purpose', '(none)'),
      oppositionsByOrigin: count(oppositions, 'origin', '(unknown)'),
      requests: {
        received: mine.length,
        answered: delays.length,
        open: mine.filter((r) => r.status === 'open').length,
        late,
        ...(delays.length > 0 ? { medianDays: delays[Math.floor(delays.length / 2)]!, maxDays: delays.at(-1)! } : {}),
      },
    };
  }
}

/** The register as Markdown: what `fairsend register` prints and a DPO pastes or prints. */
export function registerMarkdown(register: Register): string {
  const t = T[register.language];
  const out: string[] = [`# ${t.title}`, '', `${t.generated} ${register.generatedAt.slice(0, 10)}.`, ''];
  const table = (rows: [string, string][]) => [
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`),
  ];
  const figures = (f: Record<string, number>) =>
    Object.keys(f).length === 0
      ? t.none
      : Object.entries(f)
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `${k}: ${n}`)
          .join('; ');
  for (const c of register.controllers) {
    out.push(`## ${t.controller}: ${c.legalName}`, '');
    out.push(
      ...table([
        [t.controller, `${c.legalName}, ${c.postalAddress}`],
        [t.contact, c.contactEmail],
        [t.privacy, c.privacyEmail],
        ...(c.website ? [['Web', c.website] as [string, string]] : []),
      ]),
      '',
    );
    for (const e of c.entries) {
      out.push(`### ${t.purpose}: ${e.description} (\`${e.purpose}\`)`, '');
      out.push(
        ...table([
          [t.basis, t.lawful[e.legalBasis]],
          [t.people, e.categoriesOfPeople],
          [t.data, e.categoriesOfData],
          [t.sources, e.dataSources.join('; ')],
          [t.recipients, e.recipients],
          ...(e.balancingTest
            ? ([
                [`${t.balancing}: ${t.interest}`, e.balancingTest.interest],
                [`${t.balancing}: ${t.necessity}`, e.balancingTest.necessity],
                [`${t.balancing}: ${t.balance}`, e.balancingTest.balance],
              ] as [string, string][])
            : []),
          ...(e.consentCollection
            ? ([
                [`${t.consent}: ${t.how}`, e.consentCollection.how],
                [`${t.consent}: ${t.proof}`, e.consentCollection.proof],
              ] as [string, string][])
            : []),
          [t.figures, `${e.copiesLast12Months} ${t.copies}`],
        ]),
        '',
      );
    }
    out.push(
      `### ${t.processors}`,
      '',
      '| | | | |',
      '|---|---|---|---|',
      ...c.processors.map((p) => `| ${p.name} | ${p.service} | ${p.region} | ${p.leavesEu} |`),
      '',
    );
    out.push(`### ${t.retention}`, '', ...table(c.retention.map((r) => [r.kind, r.period])), '');
    out.push(`### ${t.security}`, '', ...c.security.map((s) => `- ${s}`), '');
    out.push(
      `### ${t.figures}`,
      '',
      ...table([
        [t.peopleBySource, figures(c.figures.peopleBySource)],
        [t.oppositionsByOrigin, figures(c.figures.oppositionsByOrigin)],
        [t.requests, t.requestsLine(c.figures.requests)],
      ]),
      '',
    );
  }
  return `${out.join('\n')}\n`;
}
