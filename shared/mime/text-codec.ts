import iconv from 'iconv-lite';
import libqp from 'libqp';

/** Decoding and encoding of the text parts the footer is added to. */

export function decodeTransfer(body: Buffer, encoding: string | false): Buffer {
  switch (encoding) {
    case 'base64':
      return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return libqp.decode(body.toString('latin1'));
    default:
      return body;
  }
}

/** The WHATWG decoder for a charset label (Node has full ICU: ISO-2022-JP, GB18030, Big5, …), or null. */
function textDecoder(charset: string): TextDecoder | null {
  try {
    return new TextDecoder(charset, { fatal: true });
  } catch {
    return null;
  }
}

/** Whether the part's charset can be decoded, by the platform's decoders or iconv-lite. */
export function knownCharset(charset: string | false): boolean {
  return !charset || textDecoder(charset) !== null || iconv.encodingExists(charset);
}

function validUtf8(bytes: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Bytes to text, or null when they do not decode cleanly in the declared charset: then the part
 * must not be transcoded (that would make its mojibake permanent). A part without a charset is
 * US-ASCII by RFC 2045, but 8-bit bytes in one are common: UTF-8 if they are valid UTF-8, else
 * Windows-1252 (what such mail nearly always is). Bytes that are valid UTF-8 with multi-byte
 * sequences but labelled as another charset are taken as mislabelled: null.
 */
/**
 * Labels the WHATWG Encoding Standard reads as windows-1252, as every browser and mail client does:
 * mail labelled ISO-8859-1 is full of 0x80–0x9F dashes and quotes, which ISO-8859-1 would make
 * control characters.
 */
const WINDOWS_1252 =
  /^(iso-?8859-1|iso_8859-1(:1987)?|latin-?1|l1|cp819|ibm819|iso-ir-100|csisolatin1|x-cp1252|cp1252)$/i;

export function decodeCharset(bytes: Buffer, declared: string | false): string | null {
  const charset = declared && WINDOWS_1252.test(declared) ? 'windows-1252' : declared;
  if (!charset || /^(us-)?ascii$/i.test(charset)) {
    const text = validUtf8(bytes);
    return text ?? iconv.decode(bytes, 'windows-1252');
  }
  if (/^utf-?8$/i.test(charset)) return validUtf8(bytes);
  const asUtf8 = validUtf8(bytes);
  // Multi-byte UTF-8 sequences present (more bytes than characters): mislabelled UTF-8.
  if (asUtf8 !== null && Buffer.byteLength(asUtf8) !== asUtf8.length) return null;
  // iconv-lite first: Node's TextDecoder reads windows-1252 as latin1 (0x80 is not €). The
  // platform's decoders (full ICU) for what iconv-lite lacks, like ISO-2022-JP.
  if (iconv.encodingExists(charset)) {
    const text = iconv.decode(bytes, charset);
    return text.includes('\uFFFD') ? null : text;
  }
  const decoder = textDecoder(charset);
  if (!decoder) return null;
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * UTF-8, in the part's transfer encoding: base64 stays base64, anything else becomes QP. Lines ≤ 76.
 * QP text gets CRLF line ends first, so every line is encoded and wrapped on its own: the
 * encoding of a text is the encoding of its lines, one after the other (what `PrefixEncoder`
 * below relies on).
 */
export function encodeText(text: string, encoding: 'base64' | 'quoted-printable'): Buffer {
  if (encoding === 'base64') return base64Lines(Buffer.from(text, 'utf8'));
  const bytes = Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');
  return Buffer.from(libqp.wrap(libqp.encode(bytes), 76).replace(/\r?\n/g, '\r\n'), 'latin1');
}

function base64Lines(bytes: Buffer): Buffer {
  const b64 = bytes.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/** Base64 lines of 76 characters hold 57 bytes. */
const BASE64_LINE_BYTES = 57;

/**
 * `encodeText` for texts that all begin with the same `prefix` (a part's text before the
 * footer, the same for every copy): the prefix is encoded once, up to a point where the encoding
 * of the rest does not depend on it (after its last line end for QP, a multiple of 57 bytes for
 * base64), and only the rest is encoded per copy. `encode(text)` gives exactly the bytes of
 * `encodeText(text, encoding)`, in two Buffers, the first shared.
 */
export class PrefixEncoder {
  private readonly cut: number;
  private readonly head: Buffer;
  /** Base64: the prefix's bytes past the last whole line, carried into the rest. */
  private readonly carry: Buffer;

  constructor(
    prefix: string,
    private readonly encoding: 'base64' | 'quoted-printable',
  ) {
    if (encoding === 'base64') {
      const bytes = Buffer.from(prefix, 'utf8');
      const whole = bytes.length - (bytes.length % BASE64_LINE_BYTES);
      this.cut = prefix.length;
      this.head = whole > 0 ? Buffer.concat([base64Lines(bytes.subarray(0, whole)), CRLF]) : EMPTY;
      this.carry = Buffer.from(bytes.subarray(whole));
    } else {
      this.cut = prefix.lastIndexOf('\n') + 1;
      this.head = this.cut > 0 ? encodeText(prefix.slice(0, this.cut), encoding) : EMPTY;
      this.carry = EMPTY;
    }
  }

  /** `text` must begin with the prefix. */
  encode(text: string): Buffer[] {
    if (this.encoding === 'base64') {
      const rest = Buffer.from(text.slice(this.cut), 'utf8');
      const tail = this.carry.length > 0 ? Buffer.concat([this.carry, rest]) : rest;
      // Nothing after the whole lines: no line end after the last one either.
      if (tail.length === 0) return [this.head.subarray(0, Math.max(0, this.head.length - 2)), EMPTY];
      return [this.head, base64Lines(tail)];
    }
    return [this.head, encodeQpLines(text.slice(this.cut))];
  }
}

/**
 * The QP encodings of lines met lately. What follows a part's shared prefix is mostly the footer,
 * whose lines recur in every copy of a message and in every message of the same company; only
 * the lines with the recipient's link or data source differ. Bounded: emptied when full.
 */
const qpLines = new Map<string, Buffer>();
const QP_LINES_MAX = 512;
const QP_LINE_CACHED_CHARS = 1024;

/** `encodeText(text, 'quoted-printable')`, line by line (QP is line-local once line ends are CRLF), through `qpLines`. */
export function encodeQpLines(text: string): Buffer {
  const lines = text.split(/\r?\n/);
  const out: Buffer[] = [];
  for (const [i, line] of lines.entries()) {
    if (i > 0) out.push(CRLF);
    if (line === '') continue;
    let encoded = qpLines.get(line);
    if (!encoded) {
      encoded = encodeText(line, 'quoted-printable');
      if (line.length <= QP_LINE_CACHED_CHARS) {
        if (qpLines.size >= QP_LINES_MAX) qpLines.clear();
        qpLines.set(line, encoded);
      }
    }
    out.push(encoded);
  }
  return Buffer.concat(out);
}

const CRLF = Buffer.from('\r\n');
const EMPTY = Buffer.alloc(0);
