import { escapeHtml } from '../html.ts';
import { printable } from '../printable.ts';
import type { AccessReport } from './privacy.ts';

/**
 * The answer to an access request (GDPR art. 15) as the person reads it: one printable HTML page
 * in their language (French or English), with everything the company holds about their address
 * and its `+tag` variants, where it came from, and their rights. The JSON of the same report is
 * for machines (art. 20).
 */
const T = {
  fr: {
    title: 'Vos données personnelles',
    intro: (a: string, d: string) =>
      `Voici toutes les données que nous détenons sur l’adresse ${a} (et ses variantes avec un « +étiquette »), au ${d}.`,
    controller: 'Responsable du traitement',
    rights: (email: string) =>
      `Vous pouvez demander la rectification ou l’effacement de ces données, ou vous opposer à tout message de notre part, en écrivant à ${email}. Vous pouvez aussi saisir la CNIL (www.cnil.fr).`,
    addresses: 'Adresses concernées',
    record: 'Fiche contact',
    norecord: 'Aucune fiche contact.',
    fields: {
      source: 'Source des données',
      obtainedAt: 'Obtenues le',
      profession: 'Fonction',
      company: 'Entreprise',
      language: 'Langue',
      reason: 'Pourquoi nous vous écrivons',
      firstContactAt: 'Premier contact',
      lastContactAt: 'Dernier contact',
      consent: 'Consentement',
    },
    sent: 'Messages envoyés',
    nosent: 'Aucun message envoyé.',
    cols: ['Date', 'Objet', 'Finalité', 'Ce qu’il est advenu'],
    blocked: 'Messages non envoyés (bloqués) ou signalés',
    noblocked: 'Aucun.',
    bcols: ['Date', 'Objet', 'Règle', 'Raison'],
    oppositions: 'Oppositions',
    noopp: 'Aucune opposition : vous pouvez vous opposer à tout moment.',
    ocols: ['Entrée', 'Origine', 'Depuis'],
    acols: ['Date', 'Modification', 'Motif'],
    rcols: ['Reçue le', 'Demande', 'État'],
    erased:
      'Vos données ont été effacées ; seule une empreinte chiffrée (non réversible) de votre adresse est conservée pour ne plus jamais vous écrire.',
    audit: 'Modifications faites par nos administrateurs',
    requests: 'Vos demandes',
    none: 'Aucune.',
  },
  en: {
    title: 'Your personal data',
    intro: (a: string, d: string) =>
      `This is all the data we hold about the address ${a} (and its "+tag" variants), as of ${d}.`,
    controller: 'Controller',
    rights: (email: string) =>
      `You may ask for this data to be corrected or erased, or object to any message from us, by writing to ${email}. You may also complain to the CNIL (www.cnil.fr) or your own supervisory authority.`,
    addresses: 'Addresses concerned',
    record: 'Contact record',
    norecord: 'No contact record.',
    fields: {
      source: 'Where the data comes from',
      obtainedAt: 'Obtained on',
      profession: 'Role',
      company: 'Company',
      language: 'Language',
      reason: 'Why we write to you',
      firstContactAt: 'First contact',
      lastContactAt: 'Last contact',
      consent: 'Consent',
    },
    sent: 'Messages sent',
    nosent: 'No message sent.',
    cols: ['Date', 'Subject', 'Purpose', 'What became of it'],
    blocked: 'Messages not sent (blocked) or flagged',
    noblocked: 'None.',
    bcols: ['Date', 'Subject', 'Rule', 'Why'],
    oppositions: 'Oppositions',
    noopp: 'No opposition: you may object at any time.',
    ocols: ['Entry', 'Origin', 'Since'],
    acols: ['Date', 'Change', 'Why'],
    rcols: ['Received', 'Request', 'State'],
    erased:
      'Your data has been erased; only a keyed, irreversible fingerprint of your address is kept, so that we never write to you again.',
    audit: 'Changes made by our administrators',
    requests: 'Your requests',
    none: 'None.',
  },
} as const;

const e = (v: unknown) => escapeHtml(printable(String(v ?? '')));

export function accessReportHtml(report: AccessReport, lang: 'fr' | 'en', options: { nonce?: string } = {}): string {
  const t = T[lang];
  const day = report.generatedAt.slice(0, 10);
  const table = (cols: readonly string[], rows: string[][]) =>
    `<table><thead><tr>${cols.map((c) => `<th scope="col">${e(c)}</th>`).join('')}</tr></thead><tbody>${rows
      .map((r) => `<tr>${r.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`)
      .join('')}</tbody></table>`;
  const sections = report.controllers.map((c) => {
    const record = (contact: (typeof c.contacts)[number]) =>
      `<h4>${e(contact.address)}</h4><dl>${Object.entries(t.fields)
        .map(([key, label]) => {
          const v = (contact as Record<string, unknown>)[key];
          if (v === undefined) return '';
          const shown =
            typeof v === 'object'
              ? `${(v as { how?: string }).how ?? ''} (${(v as { at?: string }).at ?? ''})`
              : String(v);
          return `<dt>${e(label)}</dt><dd>${e(shown)}</dd>`;
        })
        .join('')}</dl>`;
    return `<section><h2>${e(t.controller)}: ${e(c.legalName)}</h2>
${c.erased ? `<p class="note">${e(t.erased)}</p>` : ''}
<p>${e(t.addresses)}: ${c.addresses.map(e).join(', ')}</p>
<h3>${e(t.record)}</h3>${c.contacts.length > 0 ? c.contacts.map(record).join('') : `<p>${e(t.norecord)}</p>`}
<h3>${e(t.sent)} (${c.sent.length})</h3>${
      c.sent.length === 0
        ? `<p>${e(t.nosent)}</p>`
        : table(
            t.cols,
            c.sent.map((s) => [
              s.at.slice(0, 16).replace('T', ' '),
              s.subject ?? '',
              s.purpose ?? '',
              s.events.map((ev) => `${ev.kind} ${ev.at.slice(0, 10)}`).join(', ') || 'sent',
            ]),
          )
    }
<h3>${e(t.blocked)} (${c.blocked.length})</h3>${
      c.blocked.length === 0
        ? `<p>${e(t.noblocked)}</p>`
        : table(
            t.bcols,
            c.blocked.map((b) => [b.at.slice(0, 16).replace('T', ' '), b.subject ?? '', b.rule, b.reason ?? '']),
          )
    }
<h3>${e(t.oppositions)}</h3>${
      c.oppositions.length === 0
        ? `<p>${e(t.noopp)}</p>`
        : table(
            t.ocols,
            c.oppositions.map((o) => [
              o.subject.startsWith('#') ? '(empreinte / fingerprint)' : o.subject,
              o.origin,
              o.effectiveAt.slice(0, 10),
            ]),
          )
    }
<h3>${e(t.audit)}</h3>${
      c.audit.length === 0
        ? `<p>${e(t.none)}</p>`
        : table(
            t.acols,
            c.audit.map((a) => [a.at.slice(0, 10), a.action, a.reason ?? '']),
          )
    }
<h3>${e(t.requests)}</h3>${
      c.requests.length === 0
        ? `<p>${e(t.none)}</p>`
        : table(
            t.rcols,
            c.requests.map((r) => [r.receivedAt.slice(0, 10), r.kind, r.status]),
          )
    }
<p class="rights">${e(t.rights(c.privacyEmail))}</p></section>`;
  });
  const nonce = options.nonce ? ` nonce="${e(options.nonce)}"` : '';
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(t.title)}</title><style${nonce}>body{font:15px/1.5 system-ui,sans-serif;color:#1c2430;max-width:900px;margin:24px auto;padding:0 16px}
h1{font-size:24px}h4{font-size:15px;margin:10px 0 4px}h2{font-size:19px;border-bottom:2px solid #123c69;padding-bottom:4px;margin-top:28px}h3{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid #ccd3dc;padding:5px 8px;text-align:left;vertical-align:top}th{background:#eef2f7}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px}dt{color:#5b6675}dd{margin:0}.note{background:#fff1d6;padding:8px 12px}.rights{background:#e6effa;padding:8px 12px}
@media print{body{margin:0;max-width:none}section{break-inside:avoid-page}}</style></head>
<body><h1>${e(t.title)}</h1><p>${e(t.intro(report.address, day))}</p>${sections.join('\n')}</body></html>`;
}
