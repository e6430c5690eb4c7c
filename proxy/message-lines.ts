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
  const scan = LineScan.of(raw);
  const result = scan.bareLineEnding ? normaliseBare(raw) : { ok: true as const, message: raw, normalised: false };
  if (!result.ok) return result;
  // A normalised message is scanned again: its lines are not the ones the bare endings cut.
  const long = (result.normalised ? LineScan.of(result.message) : scan).longestLine;
  if (long > MAX_LINE_OCTETS) {
    return {
      ok: false,
      reason: `a line of ${long} octets exceeds RFC 5322's limit of ${MAX_LINE_OCTETS}; encode the part (quoted-printable or base64)`,
    };
  }
  return result;
}

/**
 * `checkMessageLines`, made on the DATA's chunks as they come (the relay's upload), so that the end
 * of DATA has nothing left to scan for a well-formed message: a 38 MB one held the relay's event
 * loop, and with it every other session, for about 130 ms there with the idempotency key's hash
 * (see `idempotencyHash`). `result` is `checkMessageLines`'s own answer: a message the scan finds
 * nothing wrong with is the message as it came; anything else (NUL, a bare CR or LF, a long line)
 * is left to `checkMessageLines` on the whole message, for its normalising and its wording.
 */
export class LineScan {
  /** Something the whole-message check must look at: nothing more is scanned. */
  private suspect = false;
  private longest = 0;
  /** Bytes of the line not yet ended (since the last LF). */
  private line = 0;
  /** The last byte pushed (-1: none yet): a chunk's first LF needs the CR before it. */
  private last = -1;

  push(chunk: Buffer): void {
    if (this.suspect || chunk.length === 0) return;
    // A CR that ended the last chunk must have this chunk's LF after it.
    if (chunk.includes(0) || (this.last === CR && chunk[0] !== LF)) {
      this.suspect = true;
      return;
    }
    let start = 0;
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
      if ((i > 0 ? chunk[i - 1] : this.last) !== CR) {
        this.suspect = true;
        return;
      }
      // Without its CRLF: the CR may have ended the last chunk (then `line` counted it).
      const length = this.line + i - start - 1;
      if (length > this.longest) this.longest = length;
      this.line = 0;
      start = i + 1;
    }
    this.line += chunk.length - start;
    // Any CR not followed by an LF within the chunk (one that ends it is checked by the next push).
    for (let i = chunk.indexOf(CR); i !== -1 && i + 1 < chunk.length; i = chunk.indexOf(CR, i + 1)) {
      if (chunk[i + 1] !== LF) {
        this.suspect = true;
        return;
      }
    }
    this.last = chunk[chunk.length - 1]!;
  }

  /** A scan of a whole message (`checkMessageLines`). */
  static of(message: Buffer): LineScan {
    const scan = new LineScan();
    scan.push(message);
    return scan;
  }

  /** A bare CR or LF (or a NUL) was seen: the scan stopped there. */
  get bareLineEnding(): boolean {
    return this.suspect || this.last === CR;
  }

  /** The longest line without its CRLF (up to where the scan stopped). */
  get longestLine(): number {
    return Math.max(this.longest, this.line);
  }

  /** The checks' answer for `raw`, the chunks pushed, in order. */
  result(raw: Buffer): MessageLinesResult {
    if (this.bareLineEnding || this.longestLine > MAX_LINE_OCTETS) return checkMessageLines(raw);
    return { ok: true, message: raw, normalised: false };
  }
}

/** Every bare CR or LF made CRLF, or a refusal for a "." line next to one (`LineScan` found one). */
function normaliseBare(raw: Buffer): MessageLinesResult {
  // From one line ending to the next (found by indexOf, not byte by byte), copying the runs
  // between bare endings as they are and writing CRLF for each bare one.
  const out: Buffer[] = [];
  let copied = 0;
  let start = 0;
  let previousBare = false;
  let lf = raw.indexOf(LF);
  let cr = raw.indexOf(CR);
  while (lf !== -1 || cr !== -1) {
    const at = cr !== -1 && (lf === -1 || cr < lf) ? cr : lf;
    const isCrlf = raw[at] === CR && raw[at + 1] === LF;
    const lineIsDot = at - start === 1 && raw[start] === DOT;
    if (lineIsDot && (!isCrlf || previousBare)) {
      return {
        ok: false,
        reason: 'a "." line next to a bare CR or LF (SMTP smuggling pattern); send CRLF line endings',
      };
    }
    start = at + (isCrlf ? 2 : 1);
    if (!isCrlf) {
      out.push(raw.subarray(copied, at), CRLF_BUFFER);
      copied = start;
    }
    previousBare = !isCrlf;
    if (lf !== -1 && lf < start) lf = raw.indexOf(LF, start);
    if (cr !== -1 && cr < start) cr = raw.indexOf(CR, start);
  }
  out.push(raw.subarray(copied));
  return { ok: true, message: Buffer.concat(out), normalised: true };
}

const CRLF_BUFFER = Buffer.from('\r\n');
