import { type DefaultTreeAdapterMap, parse } from 'parse5';
import { FOOTER_LINK_SLOT, HTML_FOOTER_MARKER, type RenderedFooter } from '../footer.ts';
import { htmlShape } from './html-shape.ts';

/**
 * Where the footer goes in an HTML part, so that the recipient sees it: as the last thing in the
 * body, outside anything that could hide it. A `</body>` in the source is not proof of where the
 * body ends — one inside a hidden `<div>`, a comment, a `<script>`, `<style>` or `<template>`
 * would carry the footer out of sight — so each candidate place is checked with a real HTML5
 * parser (parse5, the one jsdom uses; what browsers and most webmail sanitisers do with the same
 * bytes): a probe element put there must come out as a child of `<body>` itself. When no place in
 * the source qualifies (an unclosed hidden `<div>`, an unterminated comment), the footer goes at
 * the end, after the closers that end whatever is still open. Computed once per message; the
 * footer of each copy is then spliced in at that offset.
 */
export interface FooterPlacement {
  /** Offset in the decoded HTML where the footer block goes. */
  at: number;
  /** Closers written before the footer (`-->`, `</script>`, `</div>`): what was left open. */
  closers: string;
  /** The layout's width and alignment, for a footer that lines up with the message. */
  width: number | undefined;
  centred: boolean;
}

export type PlacementResult = { ok: true; placement: FooterPlacement } | { ok: false; reason: string };

type Node = DefaultTreeAdapterMap['node'];

const PROBE = 'fairsend-footer-probe';
const PROBE_HTML = `<${PROBE}></${PROBE}>`;

/**
 * The probe's ancestors (outermost first), or null if it did not come out as an element. A
 * depth-first walk with one path stack: a `<template>`'s content is searched as its child (the
 * path then holds `#document-fragment`). Once per message, on every HTML part.
 */
function probePath(html: string): string[] | null {
  const path: string[] = [];
  const search = (node: Node): boolean => {
    if (node.nodeName === PROBE) return true;
    path.push(node.nodeName);
    if ('childNodes' in node) for (const child of node.childNodes) if (search(child)) return true;
    if ('content' in node && node.content && search(node.content as Node)) return true;
    path.pop();
    return false;
  };
  return search(parse(html) as unknown as Node) ? path : null;
}

const AT_BODY_LEVEL = ['#document', 'html', 'body'];
const atBodyLevel = (path: string[] | null) =>
  path !== null && path.length === AT_BODY_LEVEL.length && path.every((name, i) => name === AT_BODY_LEVEL[i]);

/** Raw-text elements whose content swallows any markup until their end tag. */
const RAW_TEXT = ['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript'];

/** What is still open at the end of `html`, as the closers that end it (innermost first). */
function closersAtEnd(html: string): string | null {
  let closers = '';
  for (let attempt = 0; attempt < 40; attempt++) {
    const path = probePath(`${html}${closers}${PROBE_HTML}`);
    if (atBodyLevel(path)) return closers;
    if (path === null) {
      // Swallowed: by an unterminated comment, or by a raw-text element left open.
      const tail = asciiLower(`${html}${closers}`);
      const comment = tail.lastIndexOf('<!--');
      if (comment !== -1 && tail.indexOf('-->', comment + 4) === -1) {
        closers += '-->';
        continue;
      }
      const open = RAW_TEXT.map((tag) => ({ tag, at: tail.lastIndexOf(`<${tag}`) }))
        .filter((o) => o.at !== -1 && tail.indexOf(`</${o.tag}`, o.at) === -1)
        .sort((a, b) => b.at - a.at)[0];
      if (!open) return null;
      closers += `</${open.tag}>`;
      continue;
    }
    const inner = path.slice(AT_BODY_LEVEL.length).at(-1);
    if (!inner || inner.startsWith('#')) {
      if (inner === '#document-fragment') {
        closers += '</template>';
        continue;
      }
      return null;
    }
    closers += `</${inner}>`;
  }
  return null;
}

/**
 * Lower case for finding tags (ASCII-case-insensitive in HTML), the same length as `html`: its
 * offsets are used in `html`, and `toLowerCase()` lengthens some letters ('İ' becomes two units).
 */
const asciiLower = (html: string) => html.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());

/** Where the footer goes, decided by parsing: before one of these end tags (the last one), or at the end after closers. */
type Decision = { before: '</body' | '</html' } | { closers: string } | { reason: string };

function decide(html: string, lower: string): Decision {
  // Before the body's own end tag when it is one (the common case, and the place old clients expect).
  for (const tag of ['</body', '</html'] as const) {
    const at = lower.lastIndexOf(tag);
    if (at !== -1 && atBodyLevel(probePath(`${html.slice(0, at)}${PROBE_HTML}${html.slice(at)}`))) {
      return { before: tag };
    }
  }
  const closers = closersAtEnd(html);
  if (closers === null) {
    return {
      reason:
        'its HTML part ends in a way after which nothing can be shown (e.g. <plaintext>), so the footer could not be made visible',
    };
  }
  return { closers };
}

/** Decisions by document shape (html-shape.ts), the most recently used kept. */
const decisions = new Map<string, Decision>();
const DECISIONS_KEPT = 1024;

export function footerPlacement(html: string): PlacementResult {
  const lower = asciiLower(html);
  const shape = htmlShape(html);
  let decision = shape === undefined ? undefined : decisions.get(shape);
  if (decision && shape) {
    decisions.delete(shape);
    decisions.set(shape, decision);
  } else {
    decision = decide(html, lower);
    if (shape) {
      decisions.set(shape, decision);
      if (decisions.size > DECISIONS_KEPT) decisions.delete(decisions.keys().next().value!);
    }
  }
  return placementOf(decision, html, lower);
}

/** The placement parse5 decides for this document, without the shape cache (the tests compare the two). */
export function parsedFooterPlacement(html: string): PlacementResult {
  const lower = asciiLower(html);
  return placementOf(decide(html, lower), html, lower);
}

function placementOf(decision: Decision, html: string, lower: string): PlacementResult {
  if ('reason' in decision) return { ok: false, reason: decision.reason };
  const { width, centred } = layoutOf(html);
  if ('before' in decision)
    return { ok: true, placement: { at: lower.lastIndexOf(decision.before), closers: '', width, centred } };
  return { ok: true, placement: { at: html.length, closers: decision.closers, width, centred } };
}

/**
 * Every element of the footer (the built-in one or an operator's template) gets inline
 * `!important` declarations that keep it shown: in the cascade an important declaration in a
 * style attribute wins over any important rule of the message's style sheets, so a sender's
 * `p { display: none !important }` cannot hide the mentions.
 */
function harden(footerHtml: string): string {
  return footerHtml.replace(/<([a-z][a-z0-9]*)\b([^>]*)>/gi, (_tag, name: string, attributes: string) => {
    const keep = `display:revert !important;visibility:visible !important;opacity:1 !important;font-size:inherit !important;color:${name.toLowerCase() === 'a' ? '#1a0dab' : 'inherit'} !important;`;
    const style = /\bstyle\s*=\s*"([^"]*)"/i.exec(attributes);
    const rest = style ? attributes.replace(style[0], '') : attributes;
    const merged = style ? `${style[1]!.replace(/;?\s*$/, ';')}${keep}` : keep;
    return `<${name} style="${merged}"${rest.replace(/\s*\/$/, '')}>`;
  });
}

/** Hardened footers shared by many copies (RenderedFooter.slotted), split at the link's slot; bounded: emptied when full. */
const hardenedSlotted = new Map<string, string[]>();
const HARDENED_KEPT = 256;

/**
 * harden() of this copy's footer. One rendered for many copies is hardened once, with a slot
 * where the link goes: harden() reads tags and style attributes, and a link escaped by escapeHtml
 * holds no `<`, `>` or `"`, so only a link ending in "/" (read as a tag's self-closing slash
 * where it ends an unquoted attribute) could come out otherwise; such a link is hardened in place.
 */
function hardenedFooter(footer: Pick<RenderedFooter, 'html' | 'slotted'>): string {
  const { slotted } = footer;
  if (!slotted || slotted.link.endsWith('/')) return harden(footer.html);
  let parts = hardenedSlotted.get(slotted.html);
  if (!parts) {
    parts = harden(slotted.html).split(FOOTER_LINK_SLOT);
    if (hardenedSlotted.size >= HARDENED_KEPT) hardenedSlotted.clear();
    hardenedSlotted.set(slotted.html, parts);
  }
  return parts.join(slotted.link);
}

/** The footer block: its own inline styles win over any style sheet of the message (`!important` in a style attribute). */
function footerBlock(
  footer: Pick<RenderedFooter, 'html' | 'slotted'>,
  width: number | undefined,
  centred: boolean,
): string {
  const shown =
    'display:table !important;visibility:visible !important;opacity:1 !important;position:static !important;transform:none !important;clip-path:none !important;height:auto !important;max-height:none !important;overflow:visible !important;';
  const max = width ? `max-width:${width}px !important;` : '';
  return [
    HTML_FOOTER_MARKER,
    `<table role="presentation" align="${centred ? 'center' : 'left'}" width="100%" cellpadding="0" cellspacing="0" border="0" style="${shown}${max}margin:${centred ? '0 auto' : '0'};border-collapse:collapse">`,
    '<tr style="display:table-row !important;visibility:visible !important"><td style="display:table-cell !important;visibility:visible !important;padding:16px 8px 8px 8px;border-top:1px solid #dddddd;font-family:Arial,Helvetica,sans-serif;font-size:12px !important;line-height:1.5 !important;color:#555555 !important;background:#ffffff !important">',
    hardenedFooter(footer),
    '</td></tr></table>',
  ].join('\r\n');
}

/**
 * The HTML before the footer, the same in every copy. At body level (no closers) it ends with a
 * line break, a whitespace text node there that shows nothing: the QP encoding of a part is
 * line by line, so the whole prefix is then encoded once per message (PrefixEncoder), where a
 * long last line (HTML is often one) would be encoded again for every copy.
 */
export function htmlBeforeFooter(html: string, placement: FooterPlacement): string {
  const before = html.slice(0, placement.at);
  return placement.closers === '' && before !== '' && !before.endsWith('\n') ? `${before}\r\n` : before;
}

/** `footer`: a rendered footer, or the HTML of one. */
export function placeFooter(
  html: string,
  placement: FooterPlacement,
  footer: string | Pick<RenderedFooter, 'html' | 'slotted'>,
): string {
  const before = htmlBeforeFooter(html, placement);
  return `${before}${htmlFromFooter(html, placement, footer, before)}`;
}

/**
 * What follows `before` (htmlBeforeFooter's, the same for every copy) in placeFooter's HTML: the
 * closers, the footer block and the rest of the document. A copy's part is encoded from it
 * (PrefixEncoder.encodeAfter): the HTML before the footer is not joined again for each copy.
 */
export function htmlFromFooter(
  html: string,
  placement: FooterPlacement,
  footer: string | Pick<RenderedFooter, 'html' | 'slotted'>,
  before: string,
): string {
  const gap = placement.at === html.length && !before.endsWith('\n') ? '\r\n' : '';
  const block = footerBlock(typeof footer === 'string' ? { html: footer } : footer, placement.width, placement.centred);
  return `${placement.closers}${gap}${block}\r\n${html.slice(placement.at)}`;
}

/** The footer inside the HTML body, visible (see footerPlacement); throws if no place is safe. */
export function insertHtmlFooter(html: string, footerHtml: string): string {
  const found = footerPlacement(html);
  if (!found.ok) throw new Error(found.reason);
  return placeFooter(html, found.placement, footerHtml);
}

/** After re-encoding to UTF-8, a `<meta charset>` naming another charset would contradict the part. */
export function declareUtf8(html: string): string {
  return html
    .replace(/(<meta\s[^>]*charset\s*=\s*["']?)[\w-]+/gi, '$1utf-8')
    .replace(/(<meta\s[^>]*content\s*=\s*["'][^"']*charset=)[\w-]+/gi, '$1utf-8');
}

/**
 * The message's own layout: the first table or container with a fixed width (its width, and
 * whether it is centred: `<center>`, `align="center"`, `margin: 0 auto`). Without one, the
 * footer is full width and left-aligned, like the text above it.
 */
function layoutOf(html: string): { width: number | undefined; centred: boolean } {
  const bodyStart = html.search(/<body[\s>]/i);
  const body = bodyStart === -1 ? html : html.slice(bodyStart);
  const container = /<(table|div|center)\b[^>]*>/i.exec(body);
  if (!container) return { width: undefined, centred: false };
  const tag = container[0];
  const attr = /\bwidth\s*=\s*["']?(\d{3,4})(?!\d|%)/i.exec(tag);
  const style = /(?:max-width|[^-]width)\s*:\s*(\d{3,4})px/i.exec(tag);
  const width = Number(attr?.[1] ?? style?.[1]);
  const centred =
    container[1]!.toLowerCase() === 'center' ||
    /\balign\s*=\s*["']?center/i.test(tag) ||
    /margin(?:-left)?\s*:\s*(?:0(?:px)?\s+)?auto/i.test(tag) ||
    /<center\b/i.test(body.slice(0, container.index));
  return { width: width >= 200 && width <= 2000 ? width : undefined, centred };
}
