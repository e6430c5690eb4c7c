import libmime from 'libmime';
import { type NormalisedAddress, normaliseAddress } from './address.ts';

/**
 * A strict reader of the RFC 5322 §3.4 `mailbox-list` of a From or Sender header: mailboxes
 * separated by commas, each `addr-spec` or `[display-name] <addr-spec>`, comments and folding
 * white space allowed between tokens. Anything else — a second address after `<…>` without a
 * comma, a group, an unterminated quote — is refused, because other parsers (the recipient's
 * mail client, SES, a spam filter) would read another sender out of it than the one we checked.
 */
export interface Mailbox {
  /** The display name as a reader shows it (RFC 2047 decoded), or ''. */
  name: string;
  address: NormalisedAddress;
}

export type MailboxListResult = { ok: true; mailboxes: Mailbox[] } | { ok: false; reason: string };

type Token =
  | { kind: 'atom'; text: string }
  | { kind: 'quoted'; text: string }
  | { kind: 'literal'; text: string }
  | { kind: 'special'; text: '<' | '>' | ',' | '@' | ':' | ';' };

const ATEXT = /[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.\u0080-\uffff]/;

function tokenize(value: string): Token[] | string {
  const tokens: Token[] = [];
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '(') {
      let depth = 0;
      for (; i < value.length; i++) {
        if (value[i] === '\\') i++;
        else if (value[i] === '(') depth++;
        else if (value[i] === ')' && --depth === 0) break;
      }
      if (depth !== 0) return 'an unterminated comment';
      i++;
    } else if (c === '"') {
      let text = '';
      for (i++; i < value.length && value[i] !== '"'; i++) {
        if (value[i] === '\\') i++;
        text += value[i] ?? '';
      }
      if (i >= value.length) return 'an unterminated quoted string';
      tokens.push({ kind: 'quoted', text });
      i++;
    } else if (c === '[') {
      const end = value.indexOf(']', i);
      if (end === -1) return 'an unterminated domain literal';
      tokens.push({ kind: 'literal', text: value.slice(i, end + 1) });
      i = end + 1;
    } else if ('<>,@:;'.includes(c)) {
      tokens.push({ kind: 'special', text: c as '<' });
      i++;
    } else if (ATEXT.test(c)) {
      let text = '';
      while (i < value.length && ATEXT.test(value[i]!)) text += value[i++];
      tokens.push({ kind: 'atom', text });
    } else {
      return `the character ${JSON.stringify(c)}`;
    }
  }
  return tokens;
}

/** `local@domain` from tokens[start..end): words, '@', atoms or a literal. */
function addrSpec(tokens: Token[]): string | null {
  const at = tokens.findIndex((t) => t.kind === 'special' && t.text === '@');
  if (at <= 0 || at === tokens.length - 1) return null;
  const local = tokens.slice(0, at);
  const domain = tokens.slice(at + 1);
  if (local.some((t) => t.kind !== 'atom' && t.kind !== 'quoted')) return null;
  if (domain.some((t) => t.kind !== 'atom' && t.kind !== 'literal')) return null;
  const quote = (t: Token) => (t.kind === 'quoted' ? `"${t.text}"` : t.text);
  return `${local.map(quote).join('')}@${domain.map((t) => t.text).join('')}`;
}

export function parseMailboxList(value: string): MailboxListResult {
  const tokens = tokenize(value);
  if (typeof tokens === 'string') return { ok: false, reason: `it contains ${tokens}` };
  const mailboxes: Mailbox[] = [];
  let i = 0;
  while (i < tokens.length) {
    let end = i;
    while (end < tokens.length && !(tokens[end]!.kind === 'special' && tokens[end]!.text === ',')) end++;
    const part = tokens.slice(i, end);
    i = end + 1;
    if (part.length === 0) return { ok: false, reason: 'an empty entry in the list' };
    const open = part.findIndex((t) => t.kind === 'special' && t.text === '<');
    let spec: string | null;
    let name = '';
    if (open === -1) {
      spec = addrSpec(part);
    } else {
      const close = part.findIndex((t) => t.kind === 'special' && t.text === '>');
      // Nothing may follow the closing '>' but the comma that ends this mailbox.
      if (close !== part.length - 1)
        return { ok: false, reason: 'something follows an address in <…> without a comma' };
      const phrase = part.slice(0, open);
      if (phrase.some((t) => t.kind !== 'atom' && t.kind !== 'quoted')) {
        return { ok: false, reason: 'the display name is not a phrase (quote it)' };
      }
      name = libmime.decodeWords(phrase.map((t) => t.text).join(' ')).trim();
      spec = addrSpec(part.slice(open + 1, close));
    }
    const address = spec ? normaliseAddress(spec) : null;
    if (!address) return { ok: false, reason: 'an entry is not one valid mailbox' };
    mailboxes.push({ name, address });
  }
  if (mailboxes.length === 0) return { ok: false, reason: 'it holds no mailbox' };
  return { ok: true, mailboxes };
}

/** A display name that is itself an address, at another domain than the mailbox's: a common impersonation. */
export function addressLikeName(mailbox: Mailbox): string | null {
  const inName = /[^\s<>"@]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/.exec(mailbox.name);
  if (!inName) return null;
  const domain = normaliseAddress(inName[0])?.domain;
  return domain && domain !== mailbox.address.domain ? inName[0] : null;
}
