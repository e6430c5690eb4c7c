/**
 * The line-level checks of a submitted message: no NUL bytes, no line over 998 octets
 * (RFC 5322 §2.1.1), and CRLF line endings. smtp-server only ends DATA on <CRLF>.<CRLF> (so it is not
 * itself open to SMTP smuggling) but passes bare LF and bare CR into the message. A downstream
 * server that treats <LF>.<LF> as end-of-data could then read a second, forged message out of
 * ours. So: a "." line next to a bare CR or LF is refused outright (that is a smuggling attempt,
 * not a sloppy client), and any other bare CR or LF is normalised to CRLF.
 */
export type MessageLinesResult = { ok: true; message: Buffer; normalised: boolean } | { ok: false; reason: string };

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** RFC 5322 §2.1.1: lines MUST be no more than 998 characters, excluding the CRLF. */
export const MAX_LINE_OCTETS = 998;

export function checkMessageLines(raw: Buffer): MessageLinesResult {
  if (raw.includes(0))
    return { ok: false, reason: 'the message contains NUL bytes (RFC 5322 forbids them); encode binary content' };
  const result = normaliseBare(raw);
  if (!result.ok) return result;
  const long = longestLine(result.message);
  if (long > MAX_LINE_OCTETS) {
    return {
      ok: false,
      reason: `a line of ${long} octets exceeds RFC 5322's limit of ${MAX_LINE_OCTETS}; encode the part (quoted-printable or base64)`,
    };
  }
  return result;
}

function longestLine(message: Buffer): number {
  let longest = 0;
  let start = 0;
  for (let i = message.indexOf(LF); i !== -1; i = message.indexOf(LF, i + 1)) {
    longest = Math.max(longest, i - 1 - start);
    start = i + 1;
  }
  return Math.max(longest, message.length - start);
}

function normaliseBare(raw: Buffer): MessageLinesResult {
  if (!hasBareLineEnding(raw)) return { ok: true, message: raw, normalised: false };

  // Slow path: walk the lines, remembering how each one ended.
  const out: Buffer[] = [];
  let start = 0;
  let previousEnding: 'crlf' | 'bare' | 'start' = 'start';
  let i = 0;
  while (i < raw.length) {
    const byte = raw[i];
    if (byte !== CR && byte !== LF) {
      i++;
      continue;
    }
    const isCrlf = byte === CR && raw[i + 1] === LF;
    const ending = isCrlf ? 'crlf' : 'bare';
    const lineIsDot = i - start === 1 && raw[start] === DOT;
    if (lineIsDot && (ending === 'bare' || previousEnding === 'bare')) {
      return {
        ok: false,
        reason: 'a "." line next to a bare CR or LF (SMTP smuggling pattern); send CRLF line endings',
      };
    }
    out.push(raw.subarray(start, i), CRLF_BUFFER);
    i += isCrlf ? 2 : 1;
    start = i;
    previousEnding = ending;
  }
  out.push(raw.subarray(start));
  return { ok: true, message: Buffer.concat(out), normalised: true };
}

const CRLF_BUFFER = Buffer.from('\r\n');

function hasBareLineEnding(raw: Buffer): boolean {
  for (let i = raw.indexOf(LF); i !== -1; i = raw.indexOf(LF, i + 1)) {
    if (i === 0 || raw[i - 1] !== CR) return true;
  }
  for (let i = raw.indexOf(CR); i !== -1; i = raw.indexOf(CR, i + 1)) {
    if (raw[i + 1] !== LF) return true;
  }
  return false;
}
