import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { accessReportHtml } from '../../shared/console/access-report.ts';
import type { ConsoleAuth } from '../../shared/console/auth.ts';
import { registerLanguage, registerMarkdown } from '../../shared/console/register.ts';
import {
  type Actor,
  blockedSendFilter,
  type ConsoleService,
  ForbiddenError,
  InputError,
} from '../../shared/console/service.ts';
import { StoreUnavailableError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { AdminSession } from '../../shared/stores/admin.ts';
import type { BlockedSendFilter } from '../../shared/stores/blocked-sends.ts';
import { PageTokenError } from '../../shared/stores/dynamo.ts';
import { readForm } from '../form-body.ts';
import { BASE, loginPage, type PageContext } from './layout.ts';
import {
  auditPage,
  blockedDetailPage,
  blockedPage,
  contactsPage,
  erasureResult,
  errorPage,
  importPage,
  oppositionsPage,
  overviewPage,
  privacyPage,
  registerPage,
  sentPage,
  userFormPage,
  usersPage,
} from './pages.ts';

/**
 * The admin console and its JSON API (`/admin…`, API Gateway HTTP API payload v2): the same
 * handler runs in the `admin` Lambda and behind the local stack's HTTP server.
 *
 * Every route but the login form needs a session (a random id in an HttpOnly, Secure,
 * SameSite=Strict cookie scoped to /admin, its hash and expiry in DynamoDB). Every change (any
 * method but GET/HEAD) must come from the console's own origin and carry the session's CSRF token
 * (a form field, or `X-CSRF-Token` for the API); a reviewer may read and review, nothing else.
 * Pages are server-rendered under a CSP that allows only this response's own inline style and
 * script (a per-response nonce).
 */
export interface AdminHandlerDeps {
  service: ConsoleService;
  auth: ConsoleAuth;
  log: Logger;
  /** The console's origin (http.publicBaseUrl's): changes from any other origin are refused. */
  origin: string;
  /** The largest CSV export answered in one response (a Lambda answers at most 6 MB). */
  maxExportBytes?: number;
}

/** Under Lambda's 6 MB response limit, with room for the headers. */
const MAX_EXPORT_BYTES = 5_500_000;

type Result = APIGatewayProxyStructuredResultV2;
export const SESSION_COOKIE = 'fairsend_session';
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const REVIEWER_CHANGES = [/^\/blocked\/[^/]+\/[^/]+\/review$/, /^\/logout$/];

function headers(nonce: string, type = 'text/html; charset=utf-8'): Record<string, string> {
  return {
    'content-type': type,
    'cache-control': 'no-store',
    'x-robots-tag': 'noindex',
    'referrer-policy': 'same-origin',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  };
}

function cookieOf(event: APIGatewayProxyEventV2, name: string): string | undefined {
  for (const cookie of event.cookies ?? []) {
    const at = cookie.indexOf('=');
    if (at > 0 && cookie.slice(0, at).trim() === name) return cookie.slice(at + 1).trim();
  }
  return undefined;
}

function sameOrigin(event: APIGatewayProxyEventV2, origin: string): boolean {
  const site = event.headers['sec-fetch-site'];
  if (site && site !== 'same-origin') return false;
  const from = event.headers.origin ?? event.headers.referer;
  if (!from) return true; // not a browser's cross-site request (those carry Origin); the CSRF token still applies
  try {
    const asked = new URL(from).origin;
    const host = event.headers.host ?? event.requestContext.domainName;
    return asked === origin || new URL(asked).host === host;
  } catch {
    return false;
  }
}

function equalTokens(a: string | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Blocked-send filters from the query string (the service reads and checks them). */
function blockedFilter(q: URLSearchParams, controller: string): BlockedSendFilter {
  const text = (name: string) => q.get(name)?.trim() || undefined;
  return blockedSendFilter(controller, {
    from: text('from'),
    to: text('to'),
    user: text('user'),
    sender: text('sender'),
    recipient: text('recipient'),
    rule: text('rule'),
    outcome: text('outcome'),
    open: q.get('open') === '1',
  });
}

/** A path segment, decoded; a malformed escape is the client's error (400), not ours. */
function segment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new InputError('malformed address in the path');
  }
}

/** The CSV text, or null when it would not fit in one response. */
async function collect(lines: AsyncGenerator<string>, maxBytes: number): Promise<string | null> {
  let out = '\uFEFF';
  let bytes = 3;
  for await (const line of lines) {
    bytes += Buffer.byteLength(line);
    if (bytes > maxBytes) return null;
    out += line;
  }
  return out;
}

export function createAdminHandler(deps: AdminHandlerDeps) {
  const { service, auth, log } = deps;

  return async (event: APIGatewayProxyEventV2): Promise<Result> => {
    const nonce = randomBytes(16).toString('base64');
    const method = event.requestContext.http.method.toUpperCase();
    const path = event.rawPath.replace(/\/+$/, '').slice(BASE.length) || '';
    const q = new URLSearchParams(event.rawQueryString ?? '');
    const ip = event.requestContext.http.sourceIp;
    const api = path.startsWith('/api/');
    const html = (status: number, body: string, extra: Record<string, string> = {}): Result => ({
      statusCode: status,
      headers: { ...headers(nonce), ...extra },
      body,
    });
    const json = (status: number, body: unknown): Result => ({
      statusCode: status,
      headers: headers(nonce, 'application/json; charset=utf-8'),
      body: JSON.stringify(body),
    });
    const redirect = (to: string, cookies?: string[]): Result => ({
      statusCode: 303,
      headers: { ...headers(nonce), location: to },
      ...(cookies ? { cookies } : {}),
      body: '',
    });
    const body = () => {
      const raw = event.body ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
      if (raw.length > MAX_BODY_BYTES)
        throw new InputError('the request is larger than 4 MB: import the file in parts');
      return raw;
    };

    if (!event.rawPath.startsWith(BASE)) return html(404, 'Not found');
    const changing = method !== 'GET' && method !== 'HEAD';
    if (changing && !sameOrigin(event, deps.origin)) {
      log.warn('admin.cross-origin', { path, ip });
      return api ? json(403, { error: 'cross-origin change refused' }) : html(403, 'Cross-origin change refused');
    }

    // The one route without a session.
    if (path === '/login') {
      if (!changing) return html(200, loginPage(nonce));
      const form = await readForm(event.headers['content-type'], body());
      const name = form?.get('name')?.trim() ?? '';
      const password = form?.get('password') ?? '';
      const result = await auth.login(name, password, ip).catch((err: unknown) => {
        if (err instanceof StoreUnavailableError) return { ok: false as const, reason: 'unavailable' as const };
        throw err;
      });
      if (result.ok) {
        log.info('admin.login', { account: name, ip });
        const maxAge = auth.options.sessionHours * 3600;
        return redirect(BASE, [
          `${SESSION_COOKIE}=${result.id}; Path=${BASE}; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Strict`,
        ]);
      }
      log.warn('admin.login-failed', { ip, reason: result.reason });
      if (result.reason === 'throttled') {
        const minutes = Math.ceil(result.retryAfterSeconds / 60);
        return html(
          429,
          loginPage(nonce, { error: `Too many failed logins: try again in ${minutes} minute(s).`, name }),
          {
            'retry-after': String(result.retryAfterSeconds),
          },
        );
      }
      if (result.reason === 'unavailable') {
        return html(
          503,
          loginPage(nonce, { error: 'The session store cannot be reached: try again in a moment.', name }),
        );
      }
      return html(401, loginPage(nonce, { error: 'Wrong account or password.', name }));
    }

    const sessionId = cookieOf(event, SESSION_COOKIE) ?? '';
    let session: AdminSession | undefined;
    try {
      session = sessionId ? await auth.session(sessionId) : undefined;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      return api
        ? json(503, { error: 'store unavailable, try again' })
        : html(503, 'The session store cannot be reached: try again in a moment.');
    }
    if (!session) {
      if (api) return json(401, { error: 'log in first' });
      return changing
        ? html(401, loginPage(nonce, { error: 'Your session has ended: log in again.' }))
        : redirect(`${BASE}/login`);
    }
    if (changing) {
      const token =
        event.headers['x-csrf-token'] ?? (await readForm(event.headers['content-type'], body()))?.get('csrf');
      if (!equalTokens(token, session.csrf)) {
        log.warn('admin.csrf-refused', { account: session.account, path });
        return api
          ? json(403, { error: 'missing or wrong CSRF token' })
          : html(403, 'Missing or wrong CSRF token: reload the page and try again.');
      }
      if (session.role !== 'admin' && !REVIEWER_CHANGES.some((r) => r.test(path))) {
        return api
          ? json(403, { error: 'reviewers may read and review, not change' })
          : html(403, 'Reviewers may read and review; ask an admin for this change.');
      }
    }
    const actor: Actor = { name: session.account, role: session.role, via: api ? 'api' : 'console' };
    const ctx = (current: string, flash?: PageContext['flash']): PageContext => ({
      session: session!,
      nonce,
      current,
      ...(flash ? { flash } : {}),
    });
    const form = async () => (await readForm(event.headers['content-type'], body())) ?? new Map<string, string>();
    const controller = () => service.controller(q.get('controller') ?? undefined);
    const page = q.get('page') ?? undefined;
    const done = q.get('done');

    try {
      const result = await route();
      if (result) return result;
      return api
        ? json(404, { error: 'no such route' })
        : html(404, errorPage(ctx(''), 'Not found', 'There is no such page.'));
    } catch (err) {
      const [status, message] =
        err instanceof InputError || err instanceof PageTokenError
          ? [400, err.message]
          : err instanceof ForbiddenError
            ? [403, err.message]
            : err instanceof StoreUnavailableError
              ? [503, 'DynamoDB cannot be reached: nothing was changed; try again in a moment.']
              : [500, 'Something went wrong; the details are in the log.'];
      if (status === 500) log.error('admin.failed', { path, err });
      return api
        ? json(status, { error: message })
        : html(status, errorPage(ctx(''), status === 400 ? 'Not done' : 'Error', message));
    }

    async function route(): Promise<Result | undefined> {
      if (path === '/logout' && changing) {
        await auth.logout(sessionId);
        return redirect(`${BASE}/login`, [
          `${SESSION_COOKIE}=; Path=${BASE}; Max-Age=0; HttpOnly; Secure; SameSite=Strict`,
        ]);
      }
      if (!changing) return read();
      return change();
    }

    async function read(): Promise<Result | undefined> {
      const controllers = service.controllers();
      switch (path) {
        case '':
        case '/api/overview': {
          const days = Number(q.get('days') ?? 30);
          if (![1, 7, 30, 90].includes(days)) throw new InputError('days: 1, 7, 30 or 90');
          const overview = await service.overview(q.get('controller') ?? undefined, days);
          return api ? json(200, overview) : html(200, overviewPage(ctx(''), overview, controllers, days));
        }
        case '/blocked':
        case '/api/blocked': {
          const filter = blockedFilter(q, controller());
          const result = await service.blocked(filter, page);
          return api
            ? json(200, result)
            : html(200, blockedPage(ctx('/blocked'), { ...filter, ...(page ? { page } : {}) }, result, controllers));
        }
        case '/blocked.csv':
          return csv('blocked-sends', service.blockedCsv(blockedFilter(q, controller())));
        case '/sent':
        case '/api/sent': {
          const params = {
            controller: controller(),
            ...(q.get('recipient')?.trim() ? { recipient: q.get('recipient')!.trim() } : {}),
            ...(q.get('messageId')?.trim() ? { messageId: q.get('messageId')!.trim() } : {}),
          };
          const result = await service.sent(params, page);
          return api
            ? json(200, result)
            : html(200, sentPage(ctx('/sent'), { ...params, ...(page ? { page } : {}) }, result, controllers));
        }
        case '/oppositions':
        case '/api/oppositions': {
          const params = { controller: controller(), ...(q.get('q')?.trim() ? { q: q.get('q')!.trim() } : {}) };
          const result = await service.oppositions(params.controller, params.q, page);
          const flash =
            done === 'added'
              ? `${q.get('subject')} is on the opposition list.`
              : done === 'removed'
                ? `${q.get('subject')} was removed; the justification is in the audit trail.`
                : undefined;
          return api
            ? json(200, result)
            : html(
                200,
                oppositionsPage(
                  ctx('/oppositions', flash ? { kind: 'ok', text: flash } : undefined),
                  { ...params, ...(page ? { page } : {}) },
                  result,
                  controllers,
                ),
              );
        }
        case '/oppositions.csv':
          return csv('oppositions', service.oppositionsCsv(controller()));
        case '/oppositions/import':
          return html(200, importPage(ctx('/oppositions'), 'oppositions', controller(), controllers));
        case '/contacts/import':
          return html(200, importPage(ctx('/contacts'), 'contacts', controller(), controllers));
        case '/contacts':
        case '/api/contacts': {
          const address = q.get('address')?.trim();
          const person = address ? await service.person(controller(), address) : undefined;
          if (api) return json(200, person ?? { error: 'give ?address=' });
          return html(
            200,
            contactsPage(
              ctx('/contacts', done === 'saved' ? { kind: 'ok', text: 'Saved.' } : undefined),
              controller(),
              controllers,
              person,
            ),
          );
        }
        case '/users':
        case '/api/users': {
          const users = await service.smtpUsers();
          return api
            ? json(200, users)
            : html(
                200,
                usersPage(ctx('/users', done ? { kind: 'ok', text: `${q.get('user')}: ${done}.` } : undefined), users),
              );
        }
        case '/users/new':
          return html(200, userFormPage(ctx('/users'), { controllers, purposes: purposes() }));
        case '/audit':
        case '/api/audit': {
          const result = await service.auditTrail(page);
          return api ? json(200, result) : html(200, auditPage(ctx('/audit'), result, !page));
        }
        case '/audit.csv':
          return csv('audit-trail', service.auditCsv());
        case '/privacy':
        case '/api/privacy/requests': {
          const requests = await service.privacy.requests();
          if (api) return json(200, requests);
          const flash = done ? { kind: 'ok' as const, text: `Request ${q.get('id') ?? ''}: ${done}.` } : undefined;
          return html(200, privacyPage(ctx('/privacy', flash), requests, controllers));
        }
        case '/privacy/access':
        case '/api/privacy/access': {
          const report = await service.privacy.access(q.get('controller') || undefined, q.get('address') ?? '');
          if (api) return json(200, report);
          return html(200, accessReportHtml(report, registerLanguage(q.get('lang') ?? undefined), { nonce }));
        }
        case '/register':
        case '/api/register':
        case '/register.md': {
          const register = await service.register.build(
            registerLanguage(q.get('lang') ?? undefined),
            q.get('controller') || undefined,
          );
          if (api) return json(200, register);
          if (path === '/register.md') {
            return {
              statusCode: 200,
              headers: {
                ...headers(nonce, 'text/markdown; charset=utf-8'),
                'content-disposition': `attachment; filename="register-${register.generatedAt.slice(0, 10)}.md"`,
              },
              body: registerMarkdown(register),
            };
          }
          return html(200, registerPage(ctx('/register'), register, controllers));
        }
      }
      const detail = /^\/blocked\/([^/]+)\/([^/]+)$/.exec(path);
      if (detail) {
        const found = await service.blockedDetail(segment(detail[1]!), segment(detail[2]!));
        if (!found) return html(404, errorPage(ctx('/blocked'), 'Not found', 'No such blocked send.'));
        const flash = done === 'reviewed' ? { kind: 'ok' as const, text: 'Marked reviewed.' } : undefined;
        return html(200, blockedDetailPage(ctx('/blocked', flash), found));
      }
      const user = /^\/users\/([^/]+)$/.exec(path);
      if (user) {
        const found = (await service.smtpUsers()).find((u) => u.name === segment(user[1]!));
        if (!found) return html(404, errorPage(ctx('/users'), 'Not found', 'No such SMTP user.'));
        return html(200, userFormPage(ctx('/users'), { user: found, controllers, purposes: purposes() }));
      }
      return undefined;
    }

    async function change(): Promise<Result | undefined> {
      const review = /^\/blocked\/([^/]+)\/([^/]+)\/review$/.exec(path);
      if (review) {
        const [c, id] = [segment(review[1]!), segment(review[2]!)];
        await service.review(actor, c, id, (await form()).get('comment') ?? '');
        return redirect(`${BASE}/blocked/${encodeURIComponent(c)}/${encodeURIComponent(id)}?done=reviewed`);
      }
      const requestChange = /^\/(?:api\/)?privacy\/requests\/([^/]+)\/(extend|close)$/.exec(path);
      if (requestChange) {
        const id = segment(requestChange[1]!);
        const f = api ? jsonBody() : await form();
        const result =
          requestChange[2] === 'extend'
            ? await service.privacy.extend(actor, id, f.get('reason') ?? '')
            : await service.privacy.close(
                actor,
                id,
                f.get('refused') === '1' || f.get('refused') === 'true' ? 'refused' : 'done',
                f.get('outcome') ?? '',
              );
        return api
          ? json(200, result)
          : redirect(
              `${BASE}/privacy?done=${requestChange[2] === 'extend' ? 'extended' : result.status}&id=${encodeURIComponent(id)}`,
            );
      }
      switch (path) {
        case '/privacy/requests':
        case '/api/privacy/requests': {
          const f = api ? jsonBody() : await form();
          const request = await service.privacy.createRequest(actor, {
            controller: f.get('controller') ?? '',
            kind: f.get('kind') ?? '',
            address: f.get('address') ?? '',
            ...(f.get('receivedAt') ? { receivedAt: f.get('receivedAt')! } : {}),
            ...(f.get('channel') ? { channel: f.get('channel')! } : {}),
            ...(f.get('note') ? { note: f.get('note')! } : {}),
          });
          return api
            ? json(201, request)
            : redirect(`${BASE}/privacy?done=recorded&id=${encodeURIComponent(request.id)}`);
        }
        case '/privacy/erase':
        case '/api/privacy/erase': {
          const f = api ? jsonBody() : await form();
          if (!api && f.get('confirm') !== '1') throw new InputError('tick the box: an erasure cannot be undone');
          const reports = await service.privacy.erase(actor, f.get('controller') || undefined, f.get('address') ?? '', {
            ...(f.get('requestId') ? { requestId: f.get('requestId')! } : {}),
            ...(f.get('reason') ? { reason: f.get('reason')! } : {}),
          });
          if (api) return json(200, reports);
          return html(
            200,
            privacyPage(
              ctx('/privacy'),
              await service.privacy.requests(),
              service.controllers(),
              erasureResult(reports),
            ),
          );
        }
        case '/oppositions':
        case '/api/oppositions': {
          const f = api ? jsonBody() : await form();
          const result = await service.addOpposition(
            actor,
            f.get('controller') ?? undefined,
            f.get('subject') ?? '',
            f.get('note') ?? '',
          );
          if (api) return json(result.created ? 201 : 200, result);
          return redirect(
            `${BASE}/oppositions?controller=${encodeURIComponent(result.entry.controller)}&q=${encodeURIComponent(result.entry.subject)}&done=added&subject=${encodeURIComponent(result.entry.subject)}`,
          );
        }
        case '/oppositions/remove':
        case '/api/oppositions/remove': {
          const f = api ? jsonBody() : await form();
          const removed = await service.removeOpposition(
            actor,
            f.get('controller') ?? undefined,
            f.get('subject') ?? '',
            f.get('justification') ?? '',
          );
          if (api) return json(200, { removed });
          return redirect(
            `${BASE}/oppositions?controller=${encodeURIComponent(removed.controller)}&done=removed&subject=${encodeURIComponent(removed.subject)}`,
          );
        }
        case '/api/oppositions/import': {
          const report = await service.importOppositions(actor, q.get('controller') ?? undefined, {
            text: body().toString('utf8'),
            file: q.get('file') ?? 'upload.csv',
            firstLine: Number(q.get('firstLine') ?? 1) || 1,
            ...(q.get('header') ? { header: q.get('header') === '1' } : {}),
            ...(q.get('importedAt') ? { importedAt: q.get('importedAt')! } : {}),
          });
          return json(200, report);
        }
        case '/api/contacts/import': {
          const text = body().toString('utf8');
          const firstLine = Number(q.get('firstLine') ?? 1) || 1;
          const report = await service.importContacts(actor, q.get('controller') ?? undefined, {
            text,
            file: q.get('file') ?? 'upload.csv',
          });
          // The slice's lines are counted from its header; the file's from the file's.
          return json(200, {
            ...report,
            refused: report.refused.map((r) => ({ ...r, line: r.line === 1 ? 1 : r.line + firstLine - 1 })),
          });
        }
        case '/contacts': {
          const f = await form();
          const saved = await service.saveContact(actor, {
            controller: f.get('controller'),
            address: f.get('address'),
            ...Object.fromEntries(
              ['source', 'obtainedAt', 'profession', 'company', 'reason', 'language'].map((k) => [
                k,
                f.get(k)?.trim() || undefined,
              ]),
            ),
            professional: f.get('professional') === '1',
          });
          return redirect(
            `${BASE}/contacts?controller=${encodeURIComponent(saved.controller)}&address=${encodeURIComponent(saved.address)}&done=saved`,
          );
        }
        case '/users':
        case '/api/users': {
          const f = api ? jsonBody() : await form();
          const input = userInput(f);
          try {
            const result = await service.saveSmtpUser(actor, input, { creating: true });
            if (api) return json(201, result);
            return html(
              201,
              userFormPage(ctx('/users', { kind: 'ok', text: `SMTP user ${input.name} added.` }), {
                user: result.user,
                controllers: service.controllers(),
                purposes: purposes(),
                password: result.password!,
              }),
            );
          } catch (err) {
            if (api || !(err instanceof InputError)) throw err;
            return html(
              400,
              userFormPage(ctx('/users', { kind: 'error', text: err.message }), {
                controllers: service.controllers(),
                purposes: purposes(),
                values: Object.fromEntries(f),
              }),
            );
          }
        }
      }
      const userChange = /^\/(?:api\/)?users\/([^/]+?)(?:\/(password|disable|enable))?$/.exec(path);
      if (userChange) {
        const name = segment(userChange[1]!);
        const what = userChange[2];
        const current = (await service.smtpUsers()).find((u) => u.name === name);
        if (!current) throw new InputError(`no SMTP user "${name}"`);
        if (what === 'disable' || what === 'enable') {
          await service.setSmtpUserDisabled(actor, name, what === 'disable');
          return api
            ? json(200, { name, disabled: what === 'disable' })
            : redirect(`${BASE}/users?done=${what}d&user=${encodeURIComponent(name)}`);
        }
        if (what === 'password') {
          const result = await service.saveSmtpUser(actor, { ...current }, { rotatePassword: true });
          if (api) return json(200, result);
          return html(
            200,
            userFormPage(ctx('/users', { kind: 'ok', text: 'New password set: the old one no longer works.' }), {
              user: result.user,
              controllers: service.controllers(),
              purposes: purposes(),
              password: result.password!,
            }),
          );
        }
        const f = api ? jsonBody() : await form();
        const result = await service.saveSmtpUser(actor, { ...userInput(f), name, disabled: current.disabled });
        return api
          ? json(200, result)
          : redirect(`${BASE}/users?done=saved&user=${encodeURIComponent(result.user.name)}`);
      }
      return undefined;
    }

    function purposes() {
      return Object.entries(service.config.purposes).map(([id, p]) => ({ id, controller: p.controller }));
    }

    function userInput(f: Map<string, string>) {
      return {
        name: f.get('name')?.trim() ?? '',
        controller: f.get('controller') ?? '',
        allowedFrom: (f.get('allowedFrom') ?? '').split(/[\s,]+/).filter(Boolean),
        ...(f.get('defaultPurpose') ? { defaultPurpose: f.get('defaultPurpose')! } : {}),
        refusalMode: (f.get('refusalMode') || 'reject') as 'reject' | 'drop-and-notify',
      };
    }

    function jsonBody(): Map<string, string> {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body().toString('utf8') || '{}');
      } catch {
        throw new InputError('the body is not JSON');
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new InputError('the body must be a JSON object');
      return new Map(Object.entries(parsed).map(([k, v]) => [k, Array.isArray(v) ? v.join(' ') : String(v)]));
    }

    async function csv(name: string, lines: AsyncGenerator<string>): Promise<Result> {
      const text = await collect(lines, deps.maxExportBytes ?? MAX_EXPORT_BYTES);
      if (text === null) {
        throw new InputError(
          'this export is larger than one download can be (6 MB): narrow it (a shorter period, a controller, a rule), or take it whole with the CLI (npm run fairsend -- blocked|oppositions|audit --all --json)',
        );
      }
      const day = new Date().toISOString().slice(0, 10);
      return {
        statusCode: 200,
        headers: {
          ...headers(nonce, 'text/csv; charset=utf-8'),
          'content-disposition': `attachment; filename="${name}-${day}.csv"`,
        },
        body: text,
      };
    }
  };
}
