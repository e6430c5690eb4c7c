import { randomBytes } from 'node:crypto';
import { Headers, type MimeNode, Splitter } from '@zone-eu/mailsplit';
import { isDirectiveHeader } from '../directives.ts';
import type { RenderedFooter } from '../footer.ts';
import { declareUtf8, type FooterPlacement, footerPlacement, placeFooter } from './html-footer.ts';
import { isListUnsubscribeHeader } from './list-unsubscribe.ts';
import { decodeCharset, decodeTransfer, encodeText, knownCharset } from './text-codec.ts';

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

export async function buildTemplate(
  raw: Buffer,
  options: { hostname: string },
  /** `share`: untouched bytes as slices of `raw`; `copy`: as mailsplit emits them (for input it does not reproduce exactly). */
  mode: 'share' | 'copy' = 'share',
): Promise<TemplateResult> {
  // Untouched bytes are kept as ranges of `raw` (mailsplit's output is the input, byte for byte),
  // so the template shares the submitted message's memory instead of holding a copy of it.
  const segments: (Range | Buffer | Draft)[] = [];
  const drafts: Draft[] = [];
  let root: MimeNode | undefined;
  let current: Draft | null = null;
  let offset = 0;
  let tooDeep = false;
  const keep = (bytes: Buffer) => {
    if (mode === 'copy') {
      segments.push(bytes);
      return;
    }
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
  // mailsplit reproduces well-formed input exactly; for some broken input it does not, and then
  // what it emits (not ranges of the input) is the message.
  if (offset !== raw.length && mode === 'share') return buildTemplate(raw, options, 'copy');

  // Only the last inline text/plain and the last inline text/html part get the footer.
  const chosen = new Set<Draft>();
  for (const kind of ['text/plain', 'text/html']) {
    const last = drafts.filter((d) => d.node.contentType === kind).at(-1);
    if (last) chosen.add(last);
  }

  const out: Segment[] = [];
  const slice = (range: Range) => {
    if (range.end > range.start) out.push(raw.subarray(range.start, range.end));
  };
  for (const segment of segments) {
    if (Buffer.isBuffer(segment)) {
      out.push(segment);
      continue;
    }
    if (!('node' in segment)) {
      slice(segment);
      continue;
    }
    const draft = segment;
    const restore = () => {
      if (mode === 'share') {
        slice({ start: draft.root ? draft.body.start : draft.header.start, end: draft.body.end });
        return;
      }
      if (!draft.root) out.push(draft.headerBytes);
      out.push(...draft.chunks);
    };
    if (!chosen.has(draft)) {
      restore();
      continue;
    }
    const node = draft.node;
    const isHtml = node.contentType === 'text/html';
    // Every copy gets this recipient's footer, whatever the part already says: a quoted footer of
    // an earlier message (or one a sender wrote to look like ours) stays as text and never stands
    // in for the mentions this recipient is owed.
    let text = decodeCharset(decodeTransfer(Buffer.concat(draft.chunks), node.encoding), node.charset);
    let placement: FooterPlacement | undefined;
    if (isHtml) {
      text = declareUtf8(text);
      const found = footerPlacement(text);
      if (!found.ok) return { ok: false, reason: found.reason };
      placement = found.placement;
    }
    const encoding = node.encoding === 'base64' ? 'base64' : 'quoted-printable';
    node.setCharset('utf-8');
    (node.headers as Headers).update('Content-Transfer-Encoding', encoding);
    out.push({
      kind: isHtml ? 'html' : 'plain',
      ...(placement ? { placement } : {}),
      headers: draft.root ? Buffer.alloc(0) : node.getHeaders(),
      text,
      encoding,
    });
  }
  const rootNode: MimeNode = root;

  const rootHeaders = rootNode.headers as Headers;
  for (const line of rootHeaders.getList().slice()) {
    if (stripped(line.key)) rootHeaders.remove(line.key);
  }
  // The copy always declares MIME (RFC 2045 §4): its text parts are now UTF-8 with a transfer
  // encoding, which a message that had no MIME headers did not say.
  if (!rootHeaders.hasHeader('mime-version')) rootHeaders.add('MIME-Version', '1.0');
  let messageId = rootHeaders.getFirst('message-id');
  if (!messageId) {
    messageId = `<${randomBytes(12).toString('hex')}@${options.hostname}>`;
    rootHeaders.add('Message-ID', messageId);
  }

  const slots = out.filter((s) => !Buffer.isBuffer(s)).length;
  let wrapped = false;
  let segmentsOut = out;
  if (slots === 0) {
    wrapped = true;
    segmentsOut = wrap(rootHeaders, out);
  }
  return {
    ok: true,
    template: { rootHeaders: rootNode.getHeaders(), segments: segmentsOut, messageId, wrapped },
  };
}

/** One recipient's copy: their List-Unsubscribe headers, then the message with their footer. */
export function renderCopy(template: MessageTemplate, footer: RenderedFooter, extraHeaders: string): Buffer {
  return Buffer.concat(renderCopyParts(template, footer, extraHeaders));
}

/** The same copy as parts: the template's shared Buffers and this recipient's own, never joined. */
export function renderCopyParts(template: MessageTemplate, footer: RenderedFooter, extraHeaders: string): Buffer[] {
  const parts: Buffer[] = [Buffer.from(extraHeaders, 'utf8'), template.rootHeaders];
  for (const segment of template.segments) {
    if (Buffer.isBuffer(segment)) {
      parts.push(segment);
      continue;
    }
    const text =
      segment.kind === 'html'
        ? placeFooter(segment.text, segment.placement!, footer.html)
        : segment.text === ''
          ? `${footer.text}\r\n`
          : `${segment.text}${segment.text.endsWith('\n') ? '' : '\r\n'}\r\n${footer.text}\r\n`;
    parts.push(segment.headers, encodeText(text, segment.encoding));
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

function wrap(rootHeaders: Headers, body: Segment[]): Segment[] {
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
  return [
    Buffer.from(`This is a multi-part message in MIME format.\r\n--${outer}\r\n`),
    ...footerAlternative(inner),
    Buffer.from(`\r\n--${outer}\r\n`),
    innerBlock,
    ...body,
    Buffer.from(`\r\n--${outer}--\r\n`),
  ];
}

function eligible(node: MimeNode): boolean {
  if (node.multipart) return false;
  if (node.contentType !== 'text/plain' && node.contentType !== 'text/html') return false;
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
