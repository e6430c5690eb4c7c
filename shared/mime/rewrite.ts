import { randomBytes } from 'node:crypto';
import { Headers, type MimeNode, Splitter } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import { isDirectiveHeader } from '../directives.ts';
import type { RenderedFooter } from '../footer.ts';
import { declareUtf8, type FooterPlacement, footerPlacement, htmlBeforeFooter, htmlFromFooter } from './html-footer.ts';
import { isListUnsubscribeHeader } from './list-unsubscribe.ts';
import { decodeCharset, decodeTransfer, knownCharset, PrefixEncoder } from './text-codec.ts';

/**
 * The per-recipient rewrite, done in two steps so that a message to N recipients is parsed once
 * and its attachments are never copied per recipient:
 *
 * 1. `buildTemplate` splits the message once with mailsplit. Every byte it will not touch is kept
 *    as the Buffer mailsplit produced (attachments, other parts, boundaries). The last inline
 *    text/plain part and the last inline text/html part outside signed, encrypted or embedded
 *    messages become *slots*: decoded to text once, with their headers switched to UTF-8.
 * 2. `renderCopy` fills the slots with the recipient's footer, re-encodes only those parts, and
 *    joins the shared Buffers.
 *
 * A message with no such part (only an attachment, only a calendar, a signed or encrypted
 * message) is wrapped: a multipart/mixed whose first part is the footer and whose second part is
 * the original body, unaltered (so an S/MIME or PGP signature over it still verifies).
 */

interface TextSlot {
  kind: 'plain' | 'html';
  /** Where the footer goes in an HTML slot (decided once, for every copy). */
  placement?: FooterPlacement;
  /** The part's header block (empty for the root part, whose headers are the message's). */
  headers: Buffer;
  text: string;
  encoding: 'base64' | 'quoted-printable';
  /** Made at the first copy: the text before the footer, and its encoding, once for all copies. */
  before?: { text: string; encoder: PrefixEncoder };
}

type Segment = Buffer | TextSlot;

export interface MessageTemplate {
  /** Root header block (Bcc, X-Fairsend-* and any List-Unsubscribe removed; Message-ID ensured). */
  rootHeaders: Buffer;
  segments: Segment[];
  messageId: string;
  wrapped: boolean;
}

export type TemplateResult = { ok: true; template: MessageTemplate } | { ok: false; reason: string };

/** Root headers removed before sending: Bcc never leaves; ours are instructions; the client's unsubscribe headers are replaced. */
function stripped(name: string): boolean {
  return name.toLowerCase() === 'bcc' || isDirectiveHeader(name) || isListUnsubscribeHeader(name);
}
const CONTENT_HEADERS = /^(content-[\w-]+|mime-version)$/i;
export const MAX_DEPTH = 40;

interface Range {
  start: number;
  end: number;
}

interface Draft {
  node: MimeNode;
  root: boolean;
  headerBytes: Buffer;
  header: Range;
  body: Range;
  /** The body as mailsplit gave it, for decoding (text parts only: small). */
  chunks: Buffer[];
}

export async function buildTemplate(submitted: Buffer, options: { hostname: string }): Promise<TemplateResult> {
  // A leaf is a leaf whatever its parameters say: a stray boundary= on a text/html root (Outlook
  // writes them) must not make mailsplit split it.
  const raw = withoutStrayRootBoundary(submitted);
  // Untouched bytes are kept as ranges of `raw` (mailsplit's output is the input, byte for byte),
  // so the template shares the submitted message's memory instead of holding a copy of it.
  const segments: (Range | Draft)[] = [];
  const drafts: Draft[] = [];
  let root: MimeNode | undefined;
  let current: Draft | null = null;
  let offset = 0;
  let tooDeep = false;
  let splitLeaf = false;
  const keep = (bytes: Buffer) => {
    const last = segments.at(-1);
    if (last && !Buffer.isBuffer(last) && !('node' in last) && last.end === offset) last.end += bytes.length;
    else segments.push({ start: offset, end: offset + bytes.length });
  };
  try {
    await split(raw, (item) => {
      if (item.type === 'node') {
        const node = item.node!;
        const headerBytes = node.getHeaders();
        const length = headerBytes.length;
        if (depth(node) > MAX_DEPTH) tooDeep = true;
        // A part inside a part that is neither multipart nor a message: mailsplit split a leaf.
        const parent = node.parentNode;
        if (parent && !parent.multipart && !parent.rfc822) splitLeaf = true;
        root ??= node;
        const isRoot = node === root;
        if (eligible(node)) {
          current = {
            node,
            root: isRoot,
            headerBytes,
            header: { start: offset, end: offset + length },
            body: { start: offset + length, end: offset + length },
            chunks: [],
          };
          drafts.push(current);
          segments.push(current);
        } else {
          current = null;
          if (!isRoot) keep(headerBytes);
        }
        offset += length;
      } else if (item.value && item.value.length > 0) {
        if (item.type === 'body' && current) {
          current.chunks.push(item.value);
          current.body.end += item.value.length;
        } else {
          keep(item.value);
        }
        offset += item.value.length;
      }
    });
  } catch (err) {
    return { ok: false, reason: `the MIME structure cannot be read (${(err as Error).message})` };
  }
  if (tooDeep) return { ok: false, reason: `MIME parts are nested deeper than ${MAX_DEPTH} levels` };
  if (!root) return { ok: false, reason: 'the message has no header block' };
  const rootNode: MimeNode = root;
  if (effectiveType(rootNode) === 'message/partial') {
    return {
      ok: false,
      reason:
        'it is a message/partial fragment: a fragment cannot carry the mentions, and wrapping it would break its reassembly; send the whole message',
    };
  }
  // mailsplit reproduces well-formed input exactly; for some broken input it does not. The copy is
  // never a reconstruction: the submitted bytes go out whole, with the footer in a part after them.
  if (offset !== raw.length || splitLeaf) return wrapWhole(raw, options);

  // Only the last inline text/plain and the last inline text/html part get the footer.
  const chosen = new Set<Draft>();
  for (const kind of ['text/plain', 'text/html']) {
    const last = drafts.filter((d) => effectiveType(d.node) === kind).at(-1);
    if (last) chosen.add(last);
  }

  const out: Segment[] = [];
  const slice = (range: Range) => {
    if (range.end > range.start) out.push(raw.subarray(range.start, range.end));
  };
  for (const segment of segments) {
    if (!('node' in segment)) {
      slice(segment);
      continue;
    }
    const draft = segment;
    if (!chosen.has(draft)) {
      slice({ start: draft.root ? draft.body.start : draft.header.start, end: draft.body.end });
      continue;
    }
    const node = draft.node;
    const isHtml = effectiveType(node) === 'text/html';
    // Every copy gets this recipient's footer, whatever the part already says: a quoted footer of
    // an earlier message (or one a sender wrote to look like ours) stays as text and never stands
    // in for the mentions this recipient is owed.
    const decoded = decodeCharset(decodeTransfer(Buffer.concat(draft.chunks), node.encoding), node.charset);
    // Not clean in its declared charset: transcoding would make the damage permanent. The
    // message goes out as submitted, the footer in a part of its own after it.
    if (decoded === null) return wrapWhole(raw, options);
    let text = decoded;
    let placement: FooterPlacement | undefined;
    if (isHtml) {
      text = declareUtf8(text);
      const found = footerPlacement(text);
      if (!found.ok) return { ok: false, reason: found.reason };
      placement = found.placement;
    }
    const encoding = node.encoding === 'base64' ? 'base64' : 'quoted-printable';
    // `Content-Type: text` names no subtype: RFC 2045 §5.2 reads it as text/plain, and so does the copy.
    if (node.contentType === 'text') node.setContentType('text/plain');
    node.setCharset('utf-8');
    const partHeaders = node.headers as Headers;
    partHeaders.update('Content-Transfer-Encoding', encoding);
    // The body changes size: a Content-Length it carried would now be wrong.
    partHeaders.remove('Content-Length');
    out.push({
      kind: isHtml ? 'html' : 'plain',
      ...(placement ? { placement } : {}),
      headers: draft.root ? Buffer.alloc(0) : node.getHeaders(),
      text,
      encoding,
    });
  }
  const rootHeaders = rootNode.headers as Headers;
  const messageId = finishRootHeaders(rootHeaders, options);
  const slots = out.filter((s) => !Buffer.isBuffer(s)).length;
  if (slots === 0) {
    return { ok: true, template: { ...wrap(rootHeaders, out), messageId, wrapped: true } };
  }
  return { ok: true, template: { rootHeaders: rootNode.getHeaders(), segments: out, messageId, wrapped: false } };
}

/**
 * The root headers every copy has: Bcc, instructions and the client's unsubscribe headers gone,
 * MIME declared, a Message-ID; a Content-Length removed (the body always changes). Returns the
 * Message-ID.
 */
function finishRootHeaders(rootHeaders: Headers, options: { hostname: string }): string {
  for (const line of rootHeaders.getList().slice()) {
    if (stripped(line.key) || /^content-length$/i.test(line.key)) rootHeaders.remove(line.key);
  }
  // The copy always declares MIME (RFC 2045 §4): its text parts are now UTF-8 with a transfer
  // encoding, which a message that had no MIME headers did not say.
  if (!rootHeaders.hasHeader('mime-version')) rootHeaders.add('MIME-Version', '1.0');
  let messageId = rootHeaders.getFirst('message-id');
  if (!messageId) {
    messageId = `<${randomBytes(12).toString('hex')}@${options.hostname}>`;
    rootHeaders.add('Message-ID', messageId);
  }
  return messageId;
}

/** The submitted message whole, byte for byte, as the first part; the footer in a part after it. */
function wrapWhole(raw: Buffer, options: { hostname: string }): TemplateResult {
  const end = raw.indexOf('\r\n\r\n');
  const headerEnd = end === -1 ? raw.length : end + 4;
  const rootHeaders = new Headers(raw.subarray(0, headerEnd));
  const messageId = finishRootHeaders(rootHeaders, options);
  const body = raw.subarray(headerEnd);
  return { ok: true, template: { ...wrap(rootHeaders, body.length > 0 ? [body] : []), messageId, wrapped: true } };
}

/** A root Content-Type that is not multipart but names a boundary, without that parameter (the body is not copied). */
export function withoutStrayRootBoundary(raw: Buffer): Buffer {
  const end = raw.indexOf('\r\n\r\n');
  const headerEnd = end === -1 ? raw.length : end + 4;
  if (plainlyMultipart(raw.toString('latin1', 0, headerEnd))) return raw;
  return parsedWithoutStrayRootBoundary(raw, headerEnd);
}

/** `withoutStrayRootBoundary` by parsing the header block (ending at `headerEnd`). */
export function parsedWithoutStrayRootBoundary(raw: Buffer, headerEnd: number): Buffer {
  const headers = new Headers(raw.subarray(0, headerEnd));
  if (headers.get('content-type').length !== 1) return raw;
  const parsed = libmime.parseHeaderValue(headers.getFirst('content-type'));
  if (!parsed.params.boundary || /^multipart\//i.test(parsed.value)) return raw;
  delete parsed.params.boundary;
  headers.update('Content-Type', libmime.buildHeaderValue(parsed));
  return Buffer.concat([headers.build(), raw.subarray(headerEnd)]);
}

const CONTENT_TYPE_LINE = /(?:^|\r\n)content-type[ \t]*:[ \t]*(multipart\/)?/gi;

/**
 * A header block whose one Content-Type field plainly starts with `multipart/`: nothing to strip,
 * known without parsing the block (most messages; parsing it took some 9 µs a message in a loop). Anything
 * else, fields folded or written oddly included, is left to the full parse.
 */
export function plainlyMultipart(head: string): boolean {
  let fields = 0;
  let multipart = false;
  for (const match of head.matchAll(CONTENT_TYPE_LINE)) {
    fields++;
    multipart = match[1] !== undefined;
  }
  return fields === 1 && multipart;
}

/** The type a part really has: a digest's untyped parts are messages (RFC 2046 §5.1.5); `text` is text/plain. */
function effectiveType(node: MimeNode): string {
  const parent = node.parentNode;
  if (parent && parent.multipart === 'digest' && (node.headers as Headers).get('content-type').length === 0) {
    return 'message/rfc822';
  }
  return node.contentType === 'text' ? 'text/plain' : node.contentType || 'text/plain';
}

/**
 * One recipient's copy: their List-Unsubscribe headers, then the message with their footer.
 * `varying`: what differs between the copies' footers (their unsubscribe token), if given: the
 * QP encoding of what surrounds it is made once for all copies (PrefixEncoder.encode).
 */
export function renderCopy(
  template: MessageTemplate,
  footer: RenderedFooter,
  extraHeaders: string,
  varying?: string,
): Buffer {
  return Buffer.concat(renderCopyParts(template, footer, extraHeaders, varying));
}

/** A text part's text, ending with a line break, before the blank line and the footer. */
const textBeforeFooter = (text: string) => (text === '' || text.endsWith('\n') ? text : `${text}\r\n`);

/** A text slot's text before the footer, and its encoder. */
function beforeFooter(segment: TextSlot): NonNullable<TextSlot['before']> {
  const text =
    segment.kind === 'html' ? htmlBeforeFooter(segment.text, segment.placement!) : textBeforeFooter(segment.text);
  return { text, encoder: new PrefixEncoder(text, segment.encoding) };
}

/** The same copy as parts: the template's shared Buffers and this recipient's own, never joined. */
export function renderCopyParts(
  template: MessageTemplate,
  footer: RenderedFooter,
  extraHeaders: string,
  varying?: string,
): Buffer[] {
  const parts: Buffer[] = [Buffer.from(extraHeaders, 'utf8'), template.rootHeaders];
  for (const segment of template.segments) {
    if (Buffer.isBuffer(segment)) {
      parts.push(segment);
      continue;
    }
    // What comes before the footer is the same for every copy, and ends with a line break:
    // encoded once (PrefixEncoder). Only what follows it is made per copy.
    segment.before ??= beforeFooter(segment);
    const before = segment.before;
    const afterPrefix =
      segment.kind === 'html'
        ? htmlFromFooter(segment.text, segment.placement!, footer, before.text)
        : segment.text === ''
          ? `${footer.text}\r\n`
          : `\r\n${footer.text}\r\n`;
    parts.push(segment.headers, ...before.encoder.encodeAfter(afterPrefix, varying));
  }
  return parts;
}

/** A text/plain + text/html footer part for a wrapped message. */
const EMPTY_HTML = '<!doctype html><html><body></body></html>';
const EMPTY_HTML_PLACEMENT = (() => {
  const found = footerPlacement(EMPTY_HTML);
  if (!found.ok) throw new Error(found.reason);
  return found.placement;
})();

function footerAlternative(boundary: string): (Buffer | TextSlot)[] {
  const slot = (kind: 'plain' | 'html'): TextSlot => ({
    kind,
    ...(kind === 'html' ? { placement: EMPTY_HTML_PLACEMENT } : {}),
    headers: Buffer.from(
      `--${boundary}\r\nContent-Type: text/${kind}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n`,
    ),
    text: kind === 'html' ? EMPTY_HTML : '',
    encoding: 'quoted-printable',
  });
  return [
    Buffer.from(`Content-Type: multipart/alternative; boundary="${boundary}"\r\n\r\n`),
    slot('plain'),
    Buffer.from('\r\n'),
    slot('html'),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ];
}

/**
 * A multipart/mixed whose first part is the original body, unaltered (so an S/MIME or PGP
 * signature over it still verifies), and whose last part is the footer, inline: Gmail, Outlook,
 * Apple Mail and Thunderbird show inline parts of a mixed message in order, so the footer reads
 * after the content.
 */
function wrap(rootHeaders: Headers, body: Segment[]): { rootHeaders: Buffer; segments: Segment[] } {
  const outer = `fairsend-${randomBytes(12).toString('hex')}`;
  const inner = `fairsend-alt-${randomBytes(12).toString('hex')}`;
  const contentLines = rootHeaders.getList().filter((line) => CONTENT_HEADERS.test(line.key));
  const innerHeaders = new Headers(
    contentLines.filter((line) => !/^mime-version$/i.test(line.key)).map((line) => ({ ...line })),
  ).build();
  for (const line of contentLines) rootHeaders.remove(line.key);
  rootHeaders.add('MIME-Version', '1.0');
  rootHeaders.add('Content-Type', `multipart/mixed; boundary="${outer}"`);
  const innerBlock = innerHeaders.length > 2 ? innerHeaders : Buffer.from('Content-Type: text/plain\r\n\r\n');
  return {
    rootHeaders: rootHeaders.build(),
    segments: [
      Buffer.from(`This is a multi-part message in MIME format.\r\n--${outer}\r\n`),
      innerBlock,
      ...body,
      Buffer.from(`\r\n--${outer}\r\nContent-Disposition: inline\r\n`),
      ...footerAlternative(inner),
      Buffer.from(`\r\n--${outer}--\r\n`),
    ],
  };
}

function eligible(node: MimeNode): boolean {
  if (node.multipart) return false;
  const type = effectiveType(node);
  if (type !== 'text/plain' && type !== 'text/html') return false;
  if (node.disposition === 'attachment' || node.filename) return false;
  if (!knownCharset(node.charset)) return false;
  for (let p = node.parentNode; p; p = p.parentNode) {
    if (p.multipart === 'signed' || p.multipart === 'encrypted' || p.contentType === 'message/rfc822') return false;
  }
  return true;
}

function depth(node: MimeNode): number {
  let d = 0;
  for (let p = node.parentNode; p; p = p.parentNode) d++;
  return d;
}

function split(raw: Buffer, onItem: (item: { type: string; node?: MimeNode; value?: Buffer }) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const splitter = new Splitter({ maxHeadSize: 1024 * 1024 });
    splitter.on('data', (chunk: { type: string; value?: Buffer }) => {
      try {
        onItem(chunk.type === 'node' ? { type: 'node', node: chunk as unknown as MimeNode } : chunk);
      } catch (err) {
        splitter.destroy(err as Error);
      }
    });
    const events = splitter as unknown as NodeJS.EventEmitter;
    events.once('error', reject);
    events.once('end', resolve);
    for (let i = 0; i < raw.length; i += 1024 * 1024) splitter.write(raw.subarray(i, i + 1024 * 1024));
    splitter.end();
  });
}
