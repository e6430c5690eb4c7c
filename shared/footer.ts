import type { Controller, Language } from './config.ts';

/**
 * The mentions the CNIL requires in every prospecting message (sender identity, why the person
 * is contacted, how to object, an unsubscribe link) and, on the first message only, where their
 * data comes from (cnil-prospection-b2b: "bei der ersten Kommunikation … aus welcher Quelle die
 * verwendeten Daten stammen"). Templates use `{{field}}` and `{{#field}}…{{/field}}` sections;
 * a controller may replace them per language (config `footerTemplates`).
 */
export interface FooterFields {
  legalName: string;
  postalAddress: string;
  contactEmail: string;
  privacyEmail: string;
  website?: string;
  reason: string;
  /** Only on the first contact. */
  firstContact: boolean;
  source?: string;
  obtainedAt?: string;
  unsubscribeUrl: string;
}

export interface RenderedFooter {
  text: string;
  html: string;
}

/** Marks an HTML footer so a message that already carries one is not footered twice. */
export const HTML_FOOTER_MARKER = '<!-- fairsend-footer -->';

const TEXT: Record<Language, string> = {
  fr: `________________________________________
Message envoyé par {{legalName}}, {{postalAddress}} ({{contactEmail}}).
Pourquoi ce message : {{reason}}
{{#firstContact}}Vos coordonnées professionnelles proviennent de : {{source}}{{#obtainedAt}}, obtenues le {{obtainedAt}}{{/obtainedAt}}.
{{/firstContact}}Vous pouvez vous opposer à recevoir nos messages, accéder à vos données ou en demander l'effacement en écrivant à {{privacyEmail}}.
Se désinscrire en un clic : {{unsubscribeUrl}}`,
  en: `________________________________________
Message sent by {{legalName}}, {{postalAddress}} ({{contactEmail}}).
Why you receive it: {{reason}}
{{#firstContact}}Your business contact details come from: {{source}}{{#obtainedAt}}, obtained on {{obtainedAt}}{{/obtainedAt}}.
{{/firstContact}}You may object to our messages, access your data or ask us to erase it by writing to {{privacyEmail}}.
Unsubscribe in one click: {{unsubscribeUrl}}`,
  de: `________________________________________
Nachricht von {{legalName}}, {{postalAddress}} ({{contactEmail}}).
Warum Sie diese Nachricht erhalten: {{reason}}
{{#firstContact}}Ihre geschäftlichen Kontaktdaten stammen aus: {{source}}{{#obtainedAt}}, erhalten am {{obtainedAt}}{{/obtainedAt}}.
{{/firstContact}}Sie können unseren Nachrichten widersprechen sowie Auskunft über Ihre Daten oder deren Löschung verlangen: {{privacyEmail}}.
Mit einem Klick abmelden: {{unsubscribeUrl}}`,
};

const P = 'style="margin:0 0 6px 0"';
const HTML: Record<Language, string> = {
  fr: `<p ${P}>Message envoyé par <strong>{{legalName}}</strong>, {{postalAddress}} (<a href="mailto:{{contactEmail}}">{{contactEmail}}</a>).</p>
<p ${P}>Pourquoi ce message : {{reason}}</p>
{{#firstContact}}<p ${P}>Vos coordonnées professionnelles proviennent de : {{source}}{{#obtainedAt}}, obtenues le {{obtainedAt}}{{/obtainedAt}}.</p>
{{/firstContact}}<p ${P}>Vous pouvez vous opposer à recevoir nos messages, accéder à vos données ou en demander l'effacement en écrivant à <a href="mailto:{{privacyEmail}}">{{privacyEmail}}</a>.</p>
<p ${P}><a href="{{unsubscribeUrl}}">Se désinscrire en un clic</a></p>`,
  en: `<p ${P}>Message sent by <strong>{{legalName}}</strong>, {{postalAddress}} (<a href="mailto:{{contactEmail}}">{{contactEmail}}</a>).</p>
<p ${P}>Why you receive it: {{reason}}</p>
{{#firstContact}}<p ${P}>Your business contact details come from: {{source}}{{#obtainedAt}}, obtained on {{obtainedAt}}{{/obtainedAt}}.</p>
{{/firstContact}}<p ${P}>You may object to our messages, access your data or ask us to erase it by writing to <a href="mailto:{{privacyEmail}}">{{privacyEmail}}</a>.</p>
<p ${P}><a href="{{unsubscribeUrl}}">Unsubscribe in one click</a></p>`,
  de: `<p ${P}>Nachricht von <strong>{{legalName}}</strong>, {{postalAddress}} (<a href="mailto:{{contactEmail}}">{{contactEmail}}</a>).</p>
<p ${P}>Warum Sie diese Nachricht erhalten: {{reason}}</p>
{{#firstContact}}<p ${P}>Ihre geschäftlichen Kontaktdaten stammen aus: {{source}}{{#obtainedAt}}, erhalten am {{obtainedAt}}{{/obtainedAt}}.</p>
{{/firstContact}}<p ${P}>Sie können unseren Nachrichten widersprechen sowie Auskunft über Ihre Daten oder deren Löschung verlangen: <a href="mailto:{{privacyEmail}}">{{privacyEmail}}</a>.</p>
<p ${P}><a href="{{unsubscribeUrl}}">Mit einem Klick abmelden</a></p>`,
};

const LOCALES: Record<Language, string> = { fr: 'fr-FR', en: 'en-GB', de: 'de-DE' };

export function formatDate(isoDate: string, lang: Language): string {
  const date = new Date(`${isoDate.slice(0, 10)}T12:00:00Z`);
  if (Number.isNaN(date.getTime())) return isoDate;
  return new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'long', timeZone: 'UTC' }).format(date);
}

export function renderFooter(controller: Controller, lang: Language, fields: FooterFields): RenderedFooter {
  const custom = controller.footerTemplates[lang];
  const values = { ...fields, obtainedAt: fields.obtainedAt ? formatDate(fields.obtainedAt, lang) : undefined };
  const text = fill(custom?.text ?? TEXT[lang], values, (v) => v).replace(/\r?\n/g, '\r\n');
  const html = fill(custom?.html ?? HTML[lang], values, escapeHtml);
  return { text, html };
}

/** `{{#name}}…{{/name}}` keeps its content when the field is truthy; `{{name}}` is replaced. */
export function fill(template: string, values: object, encode: (value: string) => string): string {
  const record = values as Record<string, unknown>;
  // Sections may nest: resolve until none is left.
  let sections = template;
  for (let previous = ''; previous !== sections; ) {
    previous = sections;
    sections = sections.replace(/\{\{#(\w+)\}\}([\s\S]*?)\{\{\/\1\}\}/g, (_, name: string, inner: string) =>
      record[name] ? inner : '',
    );
  }
  return sections.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = record[name];
    return value === undefined || value === null || value === false ? '' : encode(String(value));
  });
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
