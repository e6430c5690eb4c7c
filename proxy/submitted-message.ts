import { Headers } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import type { NormalisedAddress } from '../shared/address.ts';
import { type Mailbox, parseMailboxList } from '../shared/mailbox-list.ts';

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
  /** The From mailboxes with their display names (for the impersonation check). */
  fromMailboxes: Mailbox[];
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
  const from = parseMailboxList(headers.getFirst('from'));
  if (!from.ok) return { ok: false, reason: `the From header is not a valid list of mailboxes (${from.reason})` };
  let sender: NormalisedAddress | null = null;
  const senderLines = headers.get('sender');
  if (senderLines.length > 1) return { ok: false, reason: 'the message has more than one Sender header' };
  if (senderLines.length === 1) {
    const parsed = parseMailboxList(headers.getFirst('sender'));
    if (!parsed.ok || parsed.mailboxes.length !== 1) {
      return { ok: false, reason: 'the Sender header does not hold exactly one valid mailbox' };
    }
    sender = parsed.mailboxes[0]!.address;
  }
  // RFC 5322 §3.6.2: several authors need a Sender naming the one who sent it.
  if (from.mailboxes.length > 1 && !sender) {
    return { ok: false, reason: 'a From header with several mailboxes needs a Sender header' };
  }
  return {
    ok: true,
    message: {
      raw,
      headerBytes,
      body: raw.subarray(bodyStart),
      headers,
      from: from.mailboxes.map((m) => m.address),
      fromMailboxes: from.mailboxes,
      sender,
      // RFC 2047 decoded: what the admin reads in the log, the CLI and the console.
      subject: headers.hasHeader('subject') ? decodeSubject(headers.getFirst('subject')) : undefined,
      messageId: headers.hasHeader('message-id') ? headers.getFirst('message-id') : undefined,
    },
  };
}

function decodeSubject(value: string): string {
  try {
    return libmime.decodeWords(value).replace(/\s+/g, ' ').trim();
  } catch {
    return value;
  }
}
