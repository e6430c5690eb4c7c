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

/** UTF-8, in the part's transfer encoding: base64 stays base64, anything else becomes QP. Lines ≤ 76. */
export function encodeText(text: string, encoding: 'base64' | 'quoted-printable'): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (encoding === 'base64') {
    const b64 = bytes.toString('base64');
    const lines: string[] = [];
    for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
    return Buffer.from(lines.join('\r\n'), 'latin1');
  }
  return Buffer.from(libqp.wrap(libqp.encode(bytes), 76).replace(/\r?\n/g, '\r\n'), 'latin1');
}
