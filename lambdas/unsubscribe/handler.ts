import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Language } from '../../shared/config.ts';
import { StoreUnavailableError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { ONE_CLICK_FIELD, ONE_CLICK_VALUE } from '../../shared/mime/list-unsubscribe.ts';
import type { UnsubscribeService } from '../../shared/unsubscribe.ts';
import { readForm } from '../form-body.ts';
import { confirmPage, donePage, invalidPage, pickLanguage } from './page.ts';

/**
 * `GET|HEAD|POST /u/{token}` (API Gateway HTTP API, payload v2).
 * GET and HEAD only show the confirmation page: link scanners and mailbox previews fetch them,
 * so they must never unsubscribe (RFC 8058 §3). POST with `List-Unsubscribe=One-Click`
 * (urlencoded or multipart) unsubscribes and answers 200 with a page: no redirect, no cookie.
 */
const SECURITY_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-robots-tag': 'noindex',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

const MAX_BODY_BYTES = 16 * 1024;

export function createUnsubscribeHandler(service: UnsubscribeService, log: Logger) {
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const method = event.requestContext.http.method.toUpperCase();
    const token = event.pathParameters?.token ?? event.rawPath.split('/').at(-1) ?? '';
    const lookup = service.lookup(token);
    const browserLanguage = (fallback: Language) => pickLanguage(event.headers['accept-language'], fallback);

    if (!lookup.ok) {
      log.info('unsubscribe.invalid-token', { method, reason: lookup.reason });
      const lang = browserLanguage(lookup.controller?.defaultLanguage ?? 'en');
      return page(400, invalidPage(lang, lookup.controller));
    }
    const lang = lookup.request.language ?? browserLanguage(lookup.language);

    if (method === 'GET' || method === 'HEAD') {
      // A second visit says so, with the date; if the list cannot be read, the page asks as usual.
      const existing = await service.existing(lookup.request).catch(() => null);
      if (existing) {
        return page(200, donePage(lang, lookup.controller, false, lookup.request.recipient, existing.effectiveAt));
      }
      return page(200, confirmPage(lang, lookup.controller, event.rawPath, lookup.request.recipient));
    }
    if (method !== 'POST') {
      return {
        statusCode: 405,
        headers: { ...SECURITY_HEADERS, allow: 'GET, HEAD, POST' },
        body: 'Method not allowed',
      };
    }

    const body = event.body ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
    if (body.length > MAX_BODY_BYTES) return page(413, invalidPage(lang, lookup.controller));
    const form = await readForm(event.headers['content-type'], body);
    if (form?.get(ONE_CLICK_FIELD) !== ONE_CLICK_VALUE) {
      log.info('unsubscribe.bad-post', { contentType: event.headers['content-type'] ?? '' });
      return {
        statusCode: 400,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
        body: 'Expected the form field List-Unsubscribe=One-Click (RFC 8058).\n',
      };
    }

    const via = form.get('via') === 'page' ? 'unsubscribe-link' : 'one-click';
    try {
      const result = await service.unsubscribe(lookup.request, via, new Date(event.requestContext.timeEpoch), {
        via: via === 'one-click' ? 'List-Unsubscribe-Post' : 'unsubscribe page',
      });
      log.info('unsubscribe.recorded', { controller: lookup.request.controller, created: result.created, via });
      return page(
        200,
        donePage(lang, lookup.controller, result.created, lookup.request.recipient, result.opposition.effectiveAt),
      );
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      log.error('unsubscribe.store-unavailable', { err });
      return {
        statusCode: 503,
        headers: { ...SECURITY_HEADERS, 'retry-after': '30' },
        body: invalidPage(lang, lookup.controller),
      };
    }
  };
}

function page(statusCode: number, body: string): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: SECURITY_HEADERS, body };
}
