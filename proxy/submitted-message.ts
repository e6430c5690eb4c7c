import { Headers } from '@zone-eu/mailsplit';
import addressparser from 'nodemailer/lib/addressparser';
import { type NormalisedAddress, normaliseAddress } from '../shared/address.ts';

/**
 * A message as the client submitted it, split into its top header block (parsed with mailsplit,
 * so what we do not touch is rebuilt byte for byte) and the body bytes (never copied).
 */
export interface SubmittedMessage {
  raw: Buffer;
  headerBytes: Buffer;
  body: Buffer;
  headers: Headers;
  from: NormalisedAddress[];
  sender: NormalisedAddress | null;
  subject: string | undefined;
  messageId: string | undefined;
}

export const MAX_HEADER_BYTES = 1024 * 1024;

export type ParseResult = { ok: true; message: SubmittedMessage } | { ok: false; reason: string };

/** Expects CRLF line endings (see message-lines.ts). */
export function parseSubmitted(raw: Buffer): ParseResult {
  let end = raw.indexOf('\r\n\r\n');
  let bodyStart: number;
  if (raw.subarray(0, 2).equals(Buffer.from('\r\n'))) {
    return { ok: false, reason: 'the message has no header block (it starts with an empty line)' };
  }
  if (end === -1) {
    end = raw.length;
    bodyStart = raw.length;
  } else {
    end += 2;
    bodyStart = end + 2;
  }
  if (end > MAX_HEADER_BYTES) {
    return { ok: false, reason: `the header block is larger than ${MAX_HEADER_BYTES} bytes` };
  }
  // With the blank separator line: mailsplit's Headers rebuilds the block with it.
  const headerBytes = raw.subarray(0, bodyStart);
  const firstLine = headerBytes.subarray(0, Math.min(headerBytes.length, 998)).toString('latin1');
  if (!/^[!-9;-~]+:/.test(firstLine)) {
    return { ok: false, reason: 'the message does not start with a header field' };
  }
  const headers = new Headers(headerBytes);

  const fromLines = headers.get('from');
  if (fromLines.length !== 1) {
    return {
      ok: false,
      reason: fromLines.length === 0 ? 'the message has no From header' : 'the message has more than one From header',
    };
  }
  const from = parseAddressList(headers.getFirst('from'));
  if (from === null || from.length === 0) {
    return { ok: false, reason: 'the From header does not hold a valid address' };
  }
  let sender: NormalisedAddress | null = null;
  if (headers.hasHeader('sender')) {
    const parsed = parseAddressList(headers.getFirst('sender'));
    if (parsed?.length !== 1) return { ok: false, reason: 'the Sender header does not hold one valid address' };
    sender = parsed[0]!;
  }
  return {
    ok: true,
    message: {
      raw,
      headerBytes,
      body: raw.subarray(bodyStart),
      headers,
      from,
      sender,
      subject: headers.hasHeader('subject') ? headers.getFirst('subject') : undefined,
      messageId: headers.hasHeader('message-id') ? headers.getFirst('message-id') : undefined,
    },
  };
}

function parseAddressList(value: string): NormalisedAddress[] | null {
  const out: NormalisedAddress[] = [];
  for (const entry of addressparser(value, { flatten: true })) {
    const parsed = normaliseAddress(entry.address ?? '');
    if (!parsed) return null;
    out.push(parsed);
  }
  return out;
}
