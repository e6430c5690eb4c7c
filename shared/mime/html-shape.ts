import { createHash } from 'node:crypto';

/**
 * What of an HTML document can decide where its footer goes: a digest of everything the HTML5
 * tree builder reads except the words. Placing the footer parses the whole part with parse5
 * (html-footer.ts), ~50 ns a character; a campaign sends the same template again and again with
 * other names, dates and links in it, and the placement depends only on the shape, so it is
 * computed once per shape.
 *
 * Two documents with the same key build the same tree, up to text and attribute values that the
 * tree builder (WHATWG HTML §13.2.6) does not consult:
 * - Tags, comments, the doctype and the content of `<style>` and `<title>` are kept as written
 *   (the doctype sets quirks mode; a comment or a style sheet may hold a `</body>` that the
 *   placement must see as text).
 * - A run of text is kept as its pattern of whitespace and other characters (the tree builder
 *   only tells the two apart: in a table, before `<body>`), with its character references
 *   written out, since `&#32;` is whitespace once decoded.
 * - Attribute values are dropped, except `type` (`<input type=hidden>` stays in a table) and
 *   those of formatting elements (the "Noah's Ark" clause compares their attributes).
 * Anything outside a plain subset of HTML gets no key, and so no shortcut: a `<` that does not
 * open a tag, comment or doctype of the exact grammar below, an unterminated comment or style,
 * a NUL, and elements that switch the tokenizer or the tree builder into states this model does
 * not follow (script, textarea, select, template, SVG, MathML, frames, …). Verified against
 * parse5 by `test/unit/html-shape.test.ts`, which builds documents of one key with different
 * words and compares their placements.
 */
const WS = '[\\t\\n\\f\\r ]';
const NAME = '[a-zA-Z][a-zA-Z0-9:-]*';
/**
 * An attribute as the tokenizer reads it (§13.2.5.32–38): its name runs to whitespace, `/`, `>`
 * or `=`; an unquoted value to whitespace or `>` (quotes and `=` inside are errors, kept). No `<`
 * in a name or value here, so that every `<` of a document with a key opens a tag or a comment.
 */
const ATTRIBUTE_SOURCE = `${WS}+([^\\t\\n\\f\\r /<>"'=]+)(?:${WS}*=${WS}*("[^"<]*"|'[^'<]*'|[^\\t\\n\\f\\r "'<>][^\\t\\n\\f\\r <>]*))?`;
const START = new RegExp(`<(${NAME})((?:${ATTRIBUTE_SOURCE})*)${WS}*(?<slash>/?)>`, 'y');
const ATTRIBUTE = new RegExp(ATTRIBUTE_SOURCE, 'g');
/** End tags may carry attributes (an error the tokenizer ignores). */
const END = new RegExp(`</(${NAME})(?:${ATTRIBUTE_SOURCE})*${WS}*/?>`, 'y');
/** `<!-->` and `<!--->` end at once (abrupt comments): no key for those. */
const COMMENT = /<!--(?!-?>)[\s\S]*?--!?>/y;
/** Every state of a doctype ends at its first `>`, quoted or not. */
const DOCTYPE = /<!doctype(?:[\t\n\f\r ][^>]*)?>/iy;
/** `<![if mso]>`, `<?xml …>`, `</ x>`: bogus comments, to the first `>` (§13.2.5.41). */
const BOGUS_COMMENT = /<(?:!(?!--)|\?|\/(?![a-zA-Z>]))[^>]*>/y;

/** Elements whose content this model does not follow. */
const UNFOLLOWED = new Set([
  'script',
  'textarea',
  'xmp',
  'iframe',
  'noembed',
  'noframes',
  'noscript',
  'plaintext',
  'template',
  'svg',
  'math',
  'select',
  'frameset',
  'frame',
]);
/** Raw text (style) and RCDATA (title): no tags inside, up to their own end tag. */
const RAW_END = new Map([
  ['style', /<\/style[\t\n\f\r />]/gi],
  ['title', /<\/title[\t\n\f\r />]/gi],
]);
const FORMATTING = new Set([
  'a',
  'b',
  'big',
  'code',
  'em',
  'font',
  'i',
  'nobr',
  's',
  'small',
  'strike',
  'strong',
  'tt',
  'u',
]);

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d || c === 0x0c;
const isReferenceChar = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x23;

/** html[from, to): runs of whitespace as `w`, of other characters as `n`, references as written. */
function textShape(html: string, from: number, to: number): string {
  let shape = '';
  let last = '';
  for (let i = from; i < to; i++) {
    const c = html.charCodeAt(i);
    if (c === 0x26) {
      let end = i + 1;
      while (end < to && isReferenceChar(html.charCodeAt(end))) end++;
      if (end < to && html.charCodeAt(end) === 0x3b) end++;
      shape += `${html.slice(i, end)}\u0001`;
      last = '&';
      i = end - 1;
    } else {
      const kind = isSpace(c) ? 'w' : 'n';
      if (kind !== last) shape += kind;
      last = kind;
    }
  }
  return shape;
}

function startTagShape(name: string, attributes: string, selfClosing: string): string {
  if (attributes === '') return `<${name}${selfClosing}>`;
  const keepValues = FORMATTING.has(name);
  let shape = `<${name}`;
  ATTRIBUTE.lastIndex = 0;
  for (let found = ATTRIBUTE.exec(attributes); found; found = ATTRIBUTE.exec(attributes)) {
    const [, attribute, value] = found;
    shape += ` ${attribute}`;
    if (value !== undefined) shape += keepValues || attribute!.toLowerCase() === 'type' ? `=${value}` : '=';
  }
  return `${shape}${selfClosing}>`;
}

const isTagNameStart = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/** NAME's later characters: letters, digits, `:` and `-`. */
const isTagNameChar = (c: number) => isTagNameStart(c) || (c >= 0x30 && c <= 0x3a) || c === 0x2d;

/** Where `<name>` or `</name>` at `at` ends (after its `>`), or -1 if the tag has more than a name. */
function plainTagEnd(html: string, at: number): number {
  let i = html.charCodeAt(at + 1) === 0x2f ? at + 2 : at + 1;
  if (!isTagNameStart(html.charCodeAt(i))) return -1;
  i++;
  while (isTagNameChar(html.charCodeAt(i))) i++;
  return html.charCodeAt(i) === 0x3e ? i + 1 : -1;
}

function exec(sticky: RegExp, html: string, at: number): RegExpExecArray | null {
  sticky.lastIndex = at;
  return sticky.exec(html);
}

/** The document's shape key, or undefined when it falls outside the model (parse it in full). */
export function htmlShape(html: string): string | undefined {
  if (html.includes('\0')) return undefined;
  const parts: string[] = [];
  let at = 0;
  while (at < html.length) {
    const lt = html.indexOf('<', at);
    const textEnd = lt === -1 ? html.length : lt;
    if (textEnd > at) parts.push(textShape(html, at, textEnd));
    if (lt === -1) break;
    at = lt;
    const next = html.charCodeAt(at + 1);
    let match: RegExpExecArray | null = null;
    if (next === 0x21 /* ! */)
      match = exec(COMMENT, html, at) ?? exec(DOCTYPE, html, at) ?? exec(BOGUS_COMMENT, html, at);
    else if (next === 0x3f /* ? */) match = exec(BOGUS_COMMENT, html, at);
    else if (next === 0x2f /* / */ && !isTagNameStart(html.charCodeAt(at + 2))) match = exec(BOGUS_COMMENT, html, at);
    if (match) {
      parts.push(match[0]);
      at += match[0].length;
      continue;
    }
    // A tag: the commonest, a name and `>` (`<p>`, `</td>`), read without the regular
    // expressions (what START and END match there); any other through them.
    let name: string;
    let tagEnd = plainTagEnd(html, at);
    const closing = next === 0x2f /* / */;
    if (tagEnd !== -1) {
      name = html.slice(at + (closing ? 2 : 1), tagEnd - 1).toLowerCase();
      parts.push(closing ? html.slice(at, tagEnd) : `<${name}>`);
    } else {
      match = exec(closing ? END : START, html, at);
      if (!match) return undefined;
      name = match[1]!.toLowerCase();
      // The slash by name: group 3 is ATTRIBUTE_SOURCE's own (the last attribute's name).
      parts.push(closing ? match[0] : startTagShape(name, match[2]!, match.groups!.slash!));
      tagEnd = at + match[0].length;
    }
    if (UNFOLLOWED.has(name)) return undefined;
    at = tagEnd;
    const rawEnd = closing ? undefined : RAW_END.get(name);
    if (rawEnd) {
      rawEnd.lastIndex = at;
      const end = rawEnd.exec(html);
      if (!end) return undefined;
      parts.push(html.slice(at, end.index));
      at = end.index;
    }
  }
  return createHash('sha256').update(parts.join('\0')).digest('base64url');
}
