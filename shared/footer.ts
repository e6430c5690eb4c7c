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
  /**
   * The HTML footer as rendered for every copy that shares these facts, with `FOOTER_LINK_SLOT`
   * where this copy's link goes, and the link as it stands in `html`: html-footer.ts hardens that
   * one string once, not each copy's.
   */
  slotted?: { html: string; link: string };
}

/**
 * Stands for the unsubscribe link in a footer rendered once for all the copies that share its
 * facts (a private-use character no value contains: a value that does is rendered on its own).
 */
const SLOT_MARK = '\u{F8FF}';
export const FOOTER_LINK_SLOT = `${SLOT_MARK}fairsend-link${SLOT_MARK}`;

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

/**
 * The footer of one copy. The copies of a message, and of a campaign, mostly differ only by their
 * link: the templates are filled once per controller, language and facts, with a slot for the
 * link (`FOOTER_LINK_SLOT`), and each copy's footer is that rendering with its link in the slot.
 * Mustache cannot treat the slot otherwise than the link (logic-less: a value is written as it is,
 * or tested for being set, and both are: an empty link is rendered on its own), nor can the
 * escaping (escapeHtml leaves the slot as it is, and the link is escaped on its own) or the
 * line-ending step (a link with a line break is rendered on its own).
 */
export function renderFooter(controller: Controller, lang: Language, fields: FooterFields): RenderedFooter {
  const templates = templatesOf(controller, lang);
  const { unsubscribeUrl: link, ...facts } = fields;
  if (
    link === '' ||
    /[\r\n]/.test(link) ||
    Object.values(facts).some((v) => typeof v === 'string' && v.includes(SLOT_MARK))
  ) {
    return renderWith(templates, lang, fields);
  }
  // The controller (its config object) and every field but the link (a field added to
  // FooterFields is in the key by itself).
  let id = controllerIds.get(controller);
  if (id === undefined) {
    id = nextControllerId++;
    controllerIds.set(controller, id);
  }
  const key = `${id} ${JSON.stringify([lang, facts])}`;
  let around = rendered.get(key);
  if (!around || around.templates.text !== templates.text || around.templates.html !== templates.html) {
    const once = renderWith(templates, lang, { ...fields, unsubscribeUrl: FOOTER_LINK_SLOT });
    around = {
      templates,
      text: once.text.split(FOOTER_LINK_SLOT),
      html: once.html,
      htmlParts: once.html.split(FOOTER_LINK_SLOT),
    };
    if (rendered.size >= RENDERED_KEPT) rendered.clear();
    rendered.set(key, around);
  }
  const htmlLink = escapeHtml(link);
  return {
    text: around.text.join(link),
    html: around.htmlParts.join(htmlLink),
    slotted: { html: around.html, link: htmlLink },
  };
}

interface Templates {
  text: string;
  html: string;
}

/**
 * Footers rendered with a slot for the link, by controller and facts, with the templates they were
 * made from. One bound for all controllers (~2.5 KB an entry, under 1 MB however many companies
 * share the relay); emptied when full.
 */
const rendered = new Map<string, { templates: Templates; text: string[]; html: string; htmlParts: string[] }>();
const RENDERED_KEPT = 256;
/** A number per controller config object: a reloaded config's controllers get new ones. */
const controllerIds = new WeakMap<Controller, number>();
let nextControllerId = 0;

/** The footer rendered from the templates, without the shared rendering: what renderFooter must equal (the tests compare). */
export function renderFooterAlone(controller: Controller, lang: Language, fields: FooterFields): RenderedFooter {
  return renderWith(templatesOf(controller, lang), lang, fields);
}

function templatesOf(controller: Controller, lang: Language): Templates {
  const custom = controller.footerTemplates[lang];
  return { text: custom?.text ?? TEXT[lang], html: custom?.html ?? HTML[lang] };
}

function renderWith(templates: Templates, lang: Language, fields: FooterFields): RenderedFooter {
  const values = { ...fields, obtainedAt: fields.obtainedAt ? formatDate(fields.obtainedAt, lang) : undefined };
  const text = fill(templates.text, values, (v) => v).replace(/\r?\n/g, '\r\n');
  const html = fill(templates.html, values, escapeHtml);
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
