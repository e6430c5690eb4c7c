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

/** Whether the part's charset can be decoded (else the part is left alone). */
export function knownCharset(charset: string | false): boolean {
  return !charset || iconv.encodingExists(charset);
}

/**
 * Bytes to text. A part without a charset is US-ASCII by RFC 2045, but 8-bit bytes in one are
 * common: UTF-8 if they are valid UTF-8, else Windows-1252 (what such mail nearly always is).
 */
export function decodeCharset(bytes: Buffer, charset: string | false): string {
  if (charset && !/^(us-)?ascii$/i.test(charset)) return iconv.decode(bytes, charset);
  const text = bytes.toString('utf8');
  if (!text.includes('\uFFFD')) return text;
  return iconv.decode(bytes, 'windows-1252');
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
