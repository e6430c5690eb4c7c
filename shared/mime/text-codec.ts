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
 * QP (`encodeQp`) ends every line with CRLF and encodes and wraps each on its own: the encoding
 * of a text is the encoding of its lines, one after the other (what `PrefixEncoder` below relies on).
 */
export function encodeText(text: string, encoding: 'base64' | 'quoted-printable'): Buffer {
  if (encoding === 'base64') return base64Lines(Buffer.from(text, 'utf8'));
  return encodeQp(Buffer.from(text, 'utf8'));
}

/** 1 for the bytes QP writes as they are (RFC 2045 6.7: printable ASCII but `=`), 2 for space and tab. */
const QP_KIND = new Uint8Array(256);
for (let b = 0x21; b <= 0x7e; b++) QP_KIND[b] = b === 0x3d ? 0 : 1;
QP_KIND[0x20] = 2;
QP_KIND[0x09] = 2;
const HEX = Buffer.from('0123456789ABCDEF', 'latin1');
/** Longest encoded line, the `=` of a soft break included (RFC 2045 6.7 rule 5). */
const QP_LINE = 76;

/** Bytes in the UTF-8 sequence a lead byte starts (1 for ASCII, continuation and invalid bytes). */
const utf8Length = (b: number) => (b >= 0xf8 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1);

/**
 * UTF-8 bytes to quoted-printable in one pass over the bytes, with the rules libqp's encode +
 * wrap applied (2.3–2.5× slower on an HTML part, with a regular expression per wrapped line): LF and CRLF become CRLF
 * line ends, a lone CR is data (`=0D`); space and tab are encoded at the end of a line; a `-`
 * that starts a line is encoded (a line beginning `--` could be read as a MIME boundary); lines
 * are at most 76 characters with the soft break's `=`, and a soft break never splits an escape
 * or a multi-byte character. Each line is encoded on its own, which PrefixEncoder relies on.
 * `continued`: a soft break is to follow (PrefixEncoder's fragments): the last line leaves room
 * for its `=`, and whitespace that ends the input stays as it is (the `=` comes after it).
 */
export function encodeQp(input: Buffer, continued = false): Buffer {
  const n = input.length;
  // Each byte is at most 3 characters (an LF becomes CRLF: 2), plus a 3-byte soft break for every
  // 64 or more (a soft break comes when what is next, 12 characters at most, does not fit in 75).
  const out = Buffer.allocUnsafe(3 * n + 3 * Math.ceil((3 * n) / 64) + 3);
  // Whether the line ends before byte j; the end of a `continued` input does not end its line.
  // Reads stay in bounds: V8 reads typed arrays out of bounds on a slow path.
  const endsBefore = (j: number) =>
    j >= n ? !continued : input[j] === 0x0a || (input[j] === 0x0d && j + 1 < n && input[j + 1] === 0x0a);
  let o = 0;
  let column = 0;
  let i = 0;
  while (i < n) {
    // The common case first: printable ASCII, and space or tab before more of the line, after
    // the line's start (a hyphen there is escaped) and where a soft break cannot be due.
    if (column > 0) {
      while (i < n && column < QP_LINE - 1) {
        const kind = QP_KIND[input[i]!];
        if (kind !== 1 && (kind !== 2 || endsBefore(i + 1))) break;
        out[o++] = input[i++]!;
        column++;
      }
      if (i >= n) break;
    }
    const b = input[i]!;
    // The bytes written together: one, or a whole multi-byte character (all escaped).
    let count = 1;
    let literal = false;
    if (b < 0x80) {
      if (b === 0x0a || (b === 0x0d && i + 1 < n && input[i + 1] === 0x0a)) {
        out[o++] = 0x0d;
        out[o++] = 0x0a;
        column = 0;
        i += b === 0x0a ? 1 : 2;
        continue;
      }
      const kind = QP_KIND[b]!;
      literal = kind === 1 ? b !== 0x2d || column > 0 : kind === 2 && !endsBefore(i + 1);
    } else {
      count = utf8Length(b);
      for (let k = 1; k < count; k++) {
        if (i + k >= n || (input[i + k]! & 0xc0) !== 0x80) {
          count = 1;
          break;
        }
      }
    }
    let width = literal ? 1 : 3 * count;
    // Room on this line: all of it for what ends the line, else one character for the soft break.
    if (column + width > QP_LINE - 1 && (column + width > QP_LINE || !endsBefore(i + count))) {
      out[o++] = 0x3d;
      out[o++] = 0x0d;
      out[o++] = 0x0a;
      column = 0;
      if (b === 0x2d) {
        literal = false;
        width = 3;
      }
    }
    if (literal) {
      out[o++] = b;
    } else {
      for (let k = 0; k < count; k++) {
        const c = input[i + k]!;
        out[o++] = 0x3d;
        out[o++] = HEX[c >> 4]!;
        out[o++] = HEX[c & 15]!;
      }
    }
    column += width;
    i += count;
  }
  // An exact copy: a prefix's encoding is kept for the whole message, the worst case is 3× its size.
  return Buffer.from(out.subarray(0, o));
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
 * `encodeText(text, encoding)`, in two Buffers, the first shared; `encodeAfter(rest)` the same for
 * the text `prefix + rest`, given only what follows the prefix (a copy's text is then never
 * joined whole: the prefix can be most of a large HTML part).
 */
export class PrefixEncoder {
  private readonly prefixLength: number;
  private readonly head: Buffer;
  /** QP: the prefix's text after its last line end, encoded again with the rest. */
  private readonly tail: string;
  /** Base64: the prefix's bytes past the last whole line, carried into the rest. */
  private readonly carry: Buffer;

  constructor(
    prefix: string,
    private readonly encoding: 'base64' | 'quoted-printable',
  ) {
    this.prefixLength = prefix.length;
    if (encoding === 'base64') {
      const bytes = Buffer.from(prefix, 'utf8');
      const whole = bytes.length - (bytes.length % BASE64_LINE_BYTES);
      this.tail = '';
      this.head = whole > 0 ? Buffer.concat([base64Lines(bytes.subarray(0, whole)), CRLF]) : EMPTY;
      this.carry = Buffer.from(bytes.subarray(whole));
    } else {
      const cut = prefix.lastIndexOf('\n') + 1;
      this.head = cut > 0 ? encodeText(prefix.slice(0, cut), encoding) : EMPTY;
      this.tail = prefix.slice(cut);
      this.carry = EMPTY;
    }
  }

  /**
   * `text` must begin with the prefix. `varying`: a string that differs from copy to copy (the
   * unsubscribe token), QP only. The text after the prefix is then encoded as the fragments
   * between its occurrences of `varying`, joined by soft line breaks: the fragments (the footer
   * around the link, the same in every copy) are encoded once and reused, and only `varying` is
   * encoded per copy. Other bytes than encodeText's, the same text once decoded.
   */
  encode(text: string, varying?: string): Buffer[] {
    return this.encodeAfter(text.slice(this.prefixLength), varying);
  }

  /** `encode(prefix + afterPrefix, varying)`, given only what follows the prefix. */
  encodeAfter(afterPrefix: string, varying?: string): Buffer[] {
    if (this.encoding === 'base64') {
      const rest = Buffer.from(afterPrefix, 'utf8');
      const tail = this.carry.length > 0 ? Buffer.concat([this.carry, rest]) : rest;
      // Nothing after the whole lines: no line end after the last one either.
      if (tail.length === 0) return [this.head.subarray(0, Math.max(0, this.head.length - 2)), EMPTY];
      return [this.head, base64Lines(tail)];
    }
    const rest = this.tail === '' ? afterPrefix : `${this.tail}${afterPrefix}`;
    // A line end in it would put the soft break where the line ends: the whole rest, line by line.
    if (varying && !/[\r\n]/.test(varying)) {
      const fragments = rest.split(varying);
      if (fragments.length > 1) return [this.head, ...this.around(fragments, varying)];
    }
    return [this.head, encodeQpLines(rest)];
  }

  /** The copies' last few arrangements of fragments, with their encodings. */
  private readonly arrangements: { fragments: string[]; encoded: Buffer[] }[] = [];

  /**
   * The fragments encoded (once per arrangement), `varying` encoded between them, a soft break
   * wherever two meet within a line. `varying` holds no line end, so no CRLF is split between two.
   */
  private around(fragments: string[], varying: string): Buffer[] {
    const last = fragments.length - 1;
    let known = this.arrangements.find(
      (a) => a.fragments.length === fragments.length && a.fragments.every((f, i) => f === fragments[i]),
    );
    if (!known) {
      known = {
        // Copies: a fragment cut from this copy's text would keep all of it alive (the part's
        // whole text, its prefix too, flattened), for as long as the message is being sent.
        fragments: fragments.map(ownString),
        // Through the cache of encoded lines: a message to one recipient has one copy, and the
        // footer's lines recur in every message of a company.
        encoded: fragments.map((f, i) => encodeQpLines(f, i < last)),
      };
      this.arrangements.unshift(known);
      if (this.arrangements.length > ARRANGEMENTS_KEPT) this.arrangements.pop();
    }
    const link = Buffer.from(varying, 'utf8');
    const out: Buffer[] = [];
    let midLine = false;
    for (let i = 0; i <= last; i++) {
      const encoded = known.encoded[i]!;
      if (encoded.length > 0) {
        if (midLine) out.push(SOFT_BREAK);
        out.push(encoded);
        midLine = !endsWithCrlf(encoded);
      }
      if (i < last) {
        if (midLine) out.push(SOFT_BREAK);
        out.push(encodeQp(link, i + 1 < last || fragments[last] !== ''));
        midLine = true;
      }
    }
    return out;
  }
}

/** A string of its own, code unit for code unit, not a slice of a larger one. */
const ownString = (s: string) => Buffer.from(s, 'utf16le').toString('utf16le');

/** Arrangements kept per part: the footer's variants within one message (first contact or not, sources). */
const ARRANGEMENTS_KEPT = 4;
const SOFT_BREAK = Buffer.from('=\r\n');
const endsWithCrlf = (b: Buffer) => b.length >= 2 && b[b.length - 2] === 0x0d && b[b.length - 1] === 0x0a;

/**
 * The QP encodings of lines met lately. What follows a part's shared prefix is mostly the footer,
 * whose lines recur in every copy of a message and in every message of the same company; only
 * the lines with the recipient's link or data source differ. Bounded: emptied when full.
 */
const qpLines = new Map<string, Buffer>();
const QP_LINES_MAX = 512;
const QP_LINE_CACHED_CHARS = 1024;

/** The same for a last line that a soft break continues (`encodeQp(…, true)`). */
const qpContinuedLines = new Map<string, Buffer>();

/**
 * `encodeText(text, 'quoted-printable')`, line by line (QP is line-local once line ends are CRLF),
 * through `qpLines`; `continued`: `encodeQp`'s, for the last line.
 */
export function encodeQpLines(text: string, continued = false): Buffer {
  const lines = text.split(/\r?\n/);
  const out: Buffer[] = [];
  for (const [i, line] of lines.entries()) {
    if (i > 0) out.push(CRLF);
    if (line === '') continue;
    const open = continued && i === lines.length - 1;
    const cache = open ? qpContinuedLines : qpLines;
    let encoded = cache.get(line);
    if (!encoded) {
      encoded = encodeQp(Buffer.from(line, 'utf8'), open);
      if (line.length <= QP_LINE_CACHED_CHARS) {
        if (cache.size >= QP_LINES_MAX) cache.clear();
        // A copy of the line: split() cuts slices that would keep the whole text alive.
        cache.set(ownString(line), encoded);
      }
    }
    out.push(encoded);
  }
  return Buffer.concat(out);
}

const CRLF = Buffer.from('\r\n');
const EMPTY = Buffer.alloc(0);
