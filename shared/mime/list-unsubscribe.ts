/**
 * The unsubscribe mechanisms a copy carries and the endpoint that honours them, in one place:
 * the link's path, the RFC 2369 `List-Unsubscribe` header (https first, then mailto), and the
 * RFC 8058 one-click pair (`List-Unsubscribe-Post: List-Unsubscribe=One-Click` in the message,
 * the form field `List-Unsubscribe=One-Click` in the receiver's POST).
 */

/** Path of the unsubscribe endpoint; the token follows. */
export const UNSUBSCRIBE_PATH = '/u/';

/** RFC 8058 §3.1: the form field the receiver POSTs, and its only value. */
export const ONE_CLICK_FIELD = 'List-Unsubscribe';
export const ONE_CLICK_VALUE = 'One-Click';

/** Headers Fairsend writes for every copy; a client's own are removed (they would name the wrong link). */
const OWNED = new Set(['list-unsubscribe', 'list-unsubscribe-post']);

export function isListUnsubscribeHeader(name: string): boolean {
  return OWNED.has(name.toLowerCase());
}

export function unsubscribeUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl}${UNSUBSCRIBE_PATH}${token}`;
}

/** The subject of a mailto unsubscribe: the mailto Lambda finds the token in it. */
export function mailtoSubject(token: string): string {
  return `unsubscribe ${token}`;
}

/** The two header lines of one copy, CRLF-terminated, ready to be put before its header block. */
export function listUnsubscribeHeaders(url: string, mailto: string | undefined, token: string): string {
  const targets = [`<${url}>`];
  if (mailto) targets.push(`<mailto:${mailto}?subject=${encodeURIComponent(mailtoSubject(token))}>`);
  return `List-Unsubscribe: ${targets.join(',\r\n ')}\r\nList-Unsubscribe-Post: ${ONE_CLICK_FIELD}=${ONE_CLICK_VALUE}\r\n`;
}
