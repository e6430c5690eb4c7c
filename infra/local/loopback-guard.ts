import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The local servers (the HTTP server of `npm start`, the SES stand-in) listen on loopback, but a
 * web page open in the developer's browser can still reach loopback: by a cross-origin POST (a
 * form or a `text/plain` fetch needs no preflight), or by DNS rebinding (a name of the attacker's
 * that resolves to 127.0.0.1, which then reads the outbox and the unsubscribe tokens in it). So:
 * - only loopback host names are answered (a rebound name arrives in `Host`): 421 otherwise;
 * - a request that changes something must come from the same origin: a browser's cross-site
 *   request is refused (`Sec-Fetch-Site`, `Origin`), and it must carry a content type no form
 *   can send without a CORS preflight (which these servers never grant): 403 / 415 otherwise.
 * Paths in `openToAnyone` (the unsubscribe link: RFC 8058 one-click POSTs come from mailbox
 * providers, and the token is the authorisation) skip the second rule.
 */
export interface GuardOptions {
  /** Host names answered besides loopback (the host of `http.publicBaseUrl`). */
  extraHosts?: string[];
  /** Content types a changing request may carry, by path prefix. */
  contentTypes: Record<string, string[]>;
  openToAnyone?: RegExp;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isLoopbackHost(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127(?:\.\d{1,3}){3}$/.test(name);
}

function hostnameOf(hostHeader: string): string {
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return '';
  }
}

/** True when the request may go on; otherwise the answer has been written. */
export function guardLocalRequest(req: IncomingMessage, res: ServerResponse, options: GuardOptions): boolean {
  const host = hostnameOf(req.headers.host ?? '');
  const extra = (options.extraHosts ?? []).map((h) => h.toLowerCase());
  if (!isLoopbackHost(host) && !extra.includes(host.toLowerCase())) {
    refuse(res, 421, `this local server only answers to loopback host names, not "${host}"`);
    return false;
  }
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (SAFE_METHODS.has(req.method ?? 'GET') || options.openToAnyone?.test(path)) return true;

  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if ((site && site !== 'same-origin' && site !== 'none') || (origin && hostnameOf(new URL(origin).host) !== host)) {
    refuse(res, 403, 'cross-origin requests that change something are refused');
    return false;
  }
  const prefix = Object.keys(options.contentTypes).find((p) => path.startsWith(p));
  const allowed = prefix ? options.contentTypes[prefix]! : ['application/json'];
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!allowed.includes(type)) {
    refuse(res, 415, `send ${allowed.join(' or ')} (a browser cannot send it cross-origin without asking first)`);
    return false;
  }
  return true;
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${message}\n`);
}
