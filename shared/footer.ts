import Mustache from 'mustache';
import type { Controller, Language } from './config.ts';
import { formatDate } from './dates.ts';
import { HTML, TEXT } from './footer/texts.ts';
import { escapeHtml } from './html.ts';

/**
 * The footer of one copy: the mentions the CNIL requires in every prospecting message (sender
 * identity, why the person is contacted, how to object, an unsubscribe link) and, on the first
 * message only, where their data comes from (cnil-prospection-b2b: "bei der ersten
 * Kommunikation … aus welcher Quelle die verwendeten Daten stammen"). Templates are Mustache,
 * logic-less: a controller may replace them per language (config `footerTemplates`), and every
 * value is HTML-escaped in the HTML footer whatever the template says.
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

/** Marks the HTML footer in a copy, for a person reading the source (never to skip a part: every copy gets its footer). */
export const HTML_FOOTER_MARKER = '<!-- fairsend-footer -->';

/** The template's syntax problem, or null: for the config check, before any message is sent. */
export function templateError(template: string): string | null {
  try {
    Mustache.parse(template);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

export function renderFooter(controller: Controller, lang: Language, fields: FooterFields): RenderedFooter {
  const custom = controller.footerTemplates[lang];
  const values = { ...fields, obtainedAt: fields.obtainedAt ? formatDate(fields.obtainedAt, lang) : undefined };
  const text = fill(custom?.text ?? TEXT[lang], values, (v) => v).replace(/\r?\n/g, '\r\n');
  const html = fill(custom?.html ?? HTML[lang], values, escapeHtml);
  return { text, html };
}

/**
 * Mustache with the given escaping for `{{name}}`. Triple braces (`{{{name}}}`, `{{& name}}`)
 * would skip the escaping: the HTML footer's values are escaped beforehand instead, so a
 * template cannot put a raw value into HTML.
 */
function fill(template: string, values: FooterFields, encode: (value: string) => string): string {
  const view = Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, typeof value === 'string' ? encode(value) : value]),
  );
  return Mustache.render(template, view, {}, { escape: (value: unknown) => String(value) });
}
