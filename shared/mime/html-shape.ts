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
const START = new RegExp(`<(${NAME})((?:${ATTRIBUTE_SOURCE})*)${WS}*(/?)>`, 'y');
const ATTRIBUTE = new RegExp(ATTRIBUTE_SOURCE, 'g');
/** End tags may carry attributes (an error the tokenizer ignores). */
const END = new RegExp(`</(${NAME})(?:${ATTRIBUTE_SOURCE})*${WS}*/?>`, 'y');
/** `<!-->` and `<!--->` end at once (abrupt comments): no key for those. */
const COMMENT = /<!--(?!-?>)[\s\S]*?--!?>/y;
/** Every state of a doctype ends at its first `>`, quoted or not. */
const DOCTYPE = /<!doctype(?:[\t\n\f\r ][^>]*)?>/iy;
/** `<![if mso]>`, `<?xml …>`, `</ x>`: bogus comments, to the first `>` (§13.2.5.41). */
const BOGUS_COMMENT = /<(?:!(?!--)|\?|\/(?![a-zA-Z>]))[^>]*>/y;
const TEXT_PIECE = /([\t\n\f\r ]+)|(&[#a-zA-Z0-9]*;?)|[^\t\n\f\r &]+/g;

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
const RAW_END: Record<string, RegExp> = { style: /<\/style[\t\n\f\r />]/gi, title: /<\/title[\t\n\f\r />]/gi };
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

function textShape(text: string): string {
  let shape = '';
  for (const piece of text.matchAll(TEXT_PIECE)) shape += piece[1] ? 'w' : piece[2] ? `${piece[2]}\u0001` : 'n';
  return shape;
}

function startTagShape(name: string, attributes: string, selfClosing: string): string {
  const keepValues = FORMATTING.has(name);
  let shape = `<${name}`;
  for (const [, attribute, value] of attributes.matchAll(ATTRIBUTE)) {
    shape += ` ${attribute}`;
    if (value !== undefined) shape += keepValues || attribute!.toLowerCase() === 'type' ? `=${value}` : '=';
  }
  return `${shape}${selfClosing}>`;
}

/** The document's shape key, or undefined when it falls outside the model (parse it in full). */
export function htmlShape(html: string): string | undefined {
  if (html.includes('\0')) return undefined;
  const parts: string[] = [];
  let at = 0;
  while (at < html.length) {
    const lt = html.indexOf('<', at);
    const textEnd = lt === -1 ? html.length : lt;
    if (textEnd > at) parts.push(textShape(html.slice(at, textEnd)));
    if (lt === -1) break;
    at = lt;
    let match: RegExpExecArray | null = null;
    for (const verbatim of [COMMENT, DOCTYPE, BOGUS_COMMENT]) {
      verbatim.lastIndex = at;
      match = verbatim.exec(html);
      if (match) break;
    }
    if (match) {
      parts.push(match[0]);
      at += match[0].length;
      continue;
    }
    END.lastIndex = at;
    match = END.exec(html);
    if (match) {
      if (UNFOLLOWED.has(match[1]!.toLowerCase())) return undefined;
      parts.push(match[0]);
      at += match[0].length;
      continue;
    }
    START.lastIndex = at;
    match = START.exec(html);
    if (!match) return undefined;
    const name = match[1]!.toLowerCase();
    if (UNFOLLOWED.has(name)) return undefined;
    parts.push(startTagShape(name, match[2]!, match[3]!));
    at += match[0].length;
    const rawEnd = RAW_END[name];
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
