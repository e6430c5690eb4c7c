import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import type { Actor } from '../../shared/console/service.ts';
import { testConfig } from '../helpers/config.ts';
import { ConsoleClient } from '../helpers/console.ts';
import { plainMessage } from '../helpers/messages.ts';
import { sendWithNodemailer, smtpErrorOf } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

/**
 * The console and its JSON API over real HTTP against the local stack: authentication on every
 * route, CSRF, roles, login throttling, paged filters, and changes that the relay obeys.
 */
let stack: LocalStack;
const operator: Actor = { name: 'test', role: 'admin', via: 'cli' };
const ADA = 'ada-password-1234567';
const RITA = 'rita-password-1234567';

beforeAll(async () => {
  stack = await startTestStack({
    config: await testConfig((raw) => {
      raw.smtp.userRefreshMs = 200;
    }),
  });
  await stack.console.createAdmin(operator, 'ada', 'admin', ADA);
  await stack.console.createAdmin(operator, 'rita', 'reviewer', RITA);
  await stack.console.createAdmin(operator, 'victim', 'admin', 'victim-password-12345');
});
afterAll(async () => {
  await stack?.stop();
});

const send = (to: string[], options: { user?: string; pass?: string; subject?: string; headers?: string[] } = {}) =>
  sendWithNodemailer(stack, {
    from: 'alice@acme.example',
    to,
    raw: plainMessage({ to: to.join(', '), subject: options.subject, extraHeaders: options.headers }),
    ...(options.user ? { user: options.user, pass: options.pass } : {}),
  });

async function admin(): Promise<ConsoleClient> {
  const client = ConsoleClient.of(stack);
  expect((await client.login('ada', ADA)).status).toBe(303);
  return client;
}

const PAGES = [
  '/admin',
  '/admin/blocked',
  '/admin/blocked.csv',
  '/admin/blocked/acme/x',
  '/admin/sent',
  '/admin/oppositions',
  '/admin/oppositions.csv',
  '/admin/oppositions/import',
  '/admin/contacts?address=bob@client.example',
  '/admin/contacts/import',
  '/admin/users',
  '/admin/users/new',
  '/admin/users/alice',
  '/admin/audit',
  '/admin/audit.csv',
  '/admin/privacy',
  '/admin/privacy/access?address=pat@client.example',
  '/admin/register',
  '/admin/register.md',
];
const APIS = [
  '/admin/api/overview',
  '/admin/api/blocked',
  '/admin/api/sent',
  '/admin/api/oppositions',
  '/admin/api/users',
  '/admin/api/audit',
  '/admin/api/privacy/requests',
  '/admin/api/privacy/access?address=pat@client.example',
  '/admin/api/register',
];
const CHANGES = [
  '/admin/oppositions',
  '/admin/oppositions/remove',
  '/admin/contacts',
  '/admin/users',
  '/admin/users/alice',
  '/admin/users/alice/disable',
  '/admin/users/alice/password',
  '/admin/blocked/acme/x/review',
  '/admin/api/oppositions',
  '/admin/api/oppositions/import',
  '/admin/privacy/requests',
  '/admin/privacy/erase',
  '/admin/privacy/requests/x/close',
  '/admin/api/privacy/erase',
];

describe('console authentication', () => {
  it('refuses every route without a session, and with a forged one', async () => {
    for (const cookie of [
      '',
      'fairsend_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      'fairsend_session=../../etc',
    ]) {
      const client = ConsoleClient.of(stack);
      client.cookie = cookie;
      for (const path of PAGES) {
        const res = await client.get(path);
        expect([path, res.status, res.headers.get('location')]).toEqual([path, 303, '/admin/login']);
      }
      for (const path of APIS) expect([path, (await client.get(path)).status]).toEqual([path, 401]);
      for (const path of CHANGES) {
        const res = await client.post(path, { subject: 'nobody@client.example', controller: 'acme' });
        expect([path, res.status]).toEqual([path, 401]);
      }
    }
    expect((await stack.console.oppositions('acme', 'nobody@client.example')).items).toEqual([]);
  });

  it('logs in with a session cookie that is HttpOnly, Secure, SameSite=Strict and expires; logging out ends it', async () => {
    const client = ConsoleClient.of(stack);
    expect((await client.login('ada', 'wrong password!!')).status).toBe(401);
    const res = await client.request('POST', '/admin/login', { form: { name: 'ada', password: ADA } });
    expect(res.status).toBe(303);
    const cookie = res.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(
      /^fairsend_session=[A-Za-z0-9_-]{43}; Path=\/admin; Max-Age=28800; HttpOnly; Secure; SameSite=Strict$/,
    );
    const page = await client.get('/admin');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; style-src 'nonce-/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    client.csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(await page.text())![1]!;
    const stolen = client.cookie;
    expect((await client.post('/admin/logout')).status).toBe(303);
    const replay = ConsoleClient.of(stack);
    replay.cookie = stolen;
    expect((await replay.get('/admin')).status).toBe(303);
  });

  it('throttles logins: after 5 failures for an account, even the right password waits', async () => {
    const client = ConsoleClient.of(stack);
    for (let i = 0; i < 5; i++) expect((await client.login('victim', `guess number ${i}`)).status).toBe(401);
    const blocked = await client.login('victim', 'victim-password-12345');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await blocked.text()).toContain('Too many failed logins');
    // Another account from another address is not locked out by it.
    expect((await ConsoleClient.of(stack).login('ada', ADA)).status).toBe(303);
  });

  it('refuses a change without the CSRF token, with a wrong one, or from another origin', async () => {
    const client = await admin();
    const form = { controller: 'acme', subject: 'csrf@client.example', note: 'x' };
    expect((await client.request('POST', '/admin/oppositions', { form })).status).toBe(403);
    expect(
      (await client.request('POST', '/admin/oppositions', { form: { ...form, csrf: 'x'.repeat(32) } })).status,
    ).toBe(403);
    const crossSite = await client.request('POST', '/admin/oppositions', {
      form: { ...form, csrf: client.csrf },
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    const api = await client.request('POST', '/admin/api/oppositions', {
      body: JSON.stringify(form),
      type: 'application/json',
    });
    expect(api.status).toBe(403);
    expect((await stack.console.oppositions('acme', 'csrf@client.example')).items).toEqual([]);
    // The same change with the token goes through.
    expect((await client.post('/admin/oppositions', form)).status).toBe(303);
    expect((await stack.console.oppositions('acme', 'csrf@client.example')).items).toHaveLength(1);
  });

  it('lets a reviewer read and review, nothing else', async () => {
    const reviewer = ConsoleClient.of(stack);
    expect((await reviewer.login('rita', RITA)).status).toBe(303);
    for (const path of ['/admin', '/admin/blocked', '/admin/oppositions', '/admin/users', '/admin/audit']) {
      expect([path, (await reviewer.get(path)).status]).toEqual([path, 200]);
    }
    for (const path of CHANGES.filter((p) => !p.endsWith('/review'))) {
      const res = await reviewer.post(path, {
        controller: 'acme',
        subject: 'rita@client.example',
        name: 'x',
        justification: 'x'.repeat(20),
      });
      expect([path, res.status]).toEqual([path, 403]);
    }
    expect((await stack.console.oppositions('acme', 'rita@client.example')).items).toEqual([]);
    // Reviewing a flagged send is what a reviewer is for.
    await stack.stores.contacts.save({
      controller: 'acme',
      address: 'cook@client.example',
      profession: 'Cook',
      source: 'fair',
    });
    await send(['cook@client.example'], { headers: ['X-Fairsend-Purpose: acme-cto'] });
    const flagged = (await stack.console.blocked({ controller: 'acme', openReviews: true })).items.find(
      (b) => b.recipient === 'cook@client.example',
    )!;
    const review = await reviewer.post(`/admin/blocked/acme/${encodeURIComponent(flagged.id)}/review`, {
      comment: 'Checked: he is the CTO of his restaurant group.',
    });
    expect(review.status).toBe(303);
    const after = await stack.stores.blockedSends.get('acme', flagged.id);
    expect(after?.review).toMatchObject({ by: 'rita', comment: 'Checked: he is the CTO of his restaurant group.' });
    expect(
      (await stack.console.blocked({ controller: 'acme', openReviews: true })).items.map((b) => b.id),
    ).not.toContain(flagged.id);
  });
});

describe('console lists', () => {
  it('filters blocked sends on their indexes and pages through them with continuation tokens', async () => {
    for (let i = 0; i < 60; i++) {
      await stack.stores.blockedSends.record({
        controller: 'acme',
        user: i % 2 === 0 ? 'pager' : 'other',
        mailFrom: 'alice@acme.example',
        recipient: `p${i}@${i % 3 === 0 ? 'three' : 'rest'}.example`,
        rule: i % 4 === 0 ? 'opposition:address' : 'policy:no-consent',
        reason: 'test',
      });
    }
    const client = await admin();
    const pageOf = async (query: string) =>
      (await (await client.get(`/admin/api/blocked?controller=acme&${query}`)).json()) as {
        items: { id: string; user: string; recipient: string; rule: string }[];
        next?: string;
      };
    const first = await pageOf('user=pager');
    expect(first.items).toHaveLength(30);
    expect(first.next).toBeUndefined();
    expect(first.items.every((b) => b.user === 'pager')).toBe(true);
    const byDomain = await pageOf('recipient=@three.example&rule=opposition:address');
    expect(byDomain.items.length).toBe(5); // i ≡ 0 (mod 12)
    expect(byDomain.items.every((b) => b.recipient.endsWith('@three.example') && b.rule === 'opposition:address')).toBe(
      true,
    );
    const all: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const page = await pageOf(`rule=policy:no-consent${next ? `&page=${next}` : ''}`);
      all.push(...page.items.map((b) => b.id));
      next = page.next;
      pages++;
    } while (next);
    expect(new Set(all).size).toBe(45);
    expect(pages).toBe(1); // 45 < one page of 50
    const everyone: string[] = [];
    next = undefined;
    do {
      const page = await pageOf(next ? `page=${next}` : '');
      everyone.push(...page.items.map((b) => b.id));
      next = page.next;
    } while (next);
    expect(everyone.length).toBeGreaterThanOrEqual(60);
    expect(new Set(everyone).size).toBe(everyone.length);
    expect([...everyone].sort().reverse()).toEqual(everyone); // newest first
    expect((await client.get('/admin/blocked/acme/%E0%A4%A')).status).toBe(400);
    const forged = await client.get(
      `/admin/api/blocked?controller=acme&page=${Buffer.from('{"pk":"globex","sk":"x"}').toString('base64url')}`,
    );
    expect(forged.status).toBe(400);
    expect(await forged.json()).toEqual({ error: 'the page token belongs to another list' });
    const csv = await (await client.get('/admin/blocked.csv?controller=acme&user=pager')).text();
    expect(csv.split('\r\n').filter(Boolean)).toHaveLength(31);
  });

  it('shows what became of each sent copy from the SES events, and finds it by recipient or Message-ID', async () => {
    const outcomes = {
      success: 'delivered',
      bounce: 'bounced',
      complaint: 'complained',
      suppressionlist: 'suppressed',
    };
    for (const local of Object.keys(outcomes)) {
      expect((await send([`${local}@simulator.amazonses.com`])).response).toMatch(/^250 /);
    }
    await stack.simulator!.settled();
    const client = await admin();
    for (const [local, status] of Object.entries(outcomes)) {
      const rows = (await (
        await client.get(`/admin/api/sent?controller=acme&recipient=${local}@simulator.amazonses.com`)
      ).json()) as { items: { status: string; messageId: string; events: { kind: string; detail?: string }[] }[] };
      expect([local, rows.items.map((r) => r.status)]).toEqual([local, [status]]);
      const byId = (await (
        await client.get(`/admin/api/sent?controller=acme&messageId=${encodeURIComponent(rows.items[0]!.messageId)}`)
      ).json()) as { items: { recipient: string }[] };
      expect(byId.items.map((r) => r.recipient)).toEqual([`${local}@simulator.amazonses.com`]);
    }
    const overview = (await (await client.get('/admin/api/overview?controller=acme&days=1')).json()) as {
      sent: number;
      events: Record<string, number>;
      bounceRate: number;
    };
    expect(overview.events).toMatchObject({ delivered: 1, bounced: 1, complained: 1, suppressed: 1 });
    expect(overview.sent).toBeGreaterThanOrEqual(4);
    expect(overview.bounceRate).toBeCloseTo(1 / overview.sent);
  });
});

describe('console changes the relay obeys', () => {
  it('adds an SMTP user whose password is shown once and works within seconds; disabling it locks it out', async () => {
    const client = await admin();
    const res = await client.post('/admin/users', {
      name: 'newbie',
      controller: 'acme',
      allowedFrom: 'alice@acme.example',
      defaultPurpose: 'acme-prospecting',
      refusalMode: 'reject',
    });
    expect(res.status).toBe(201);
    const password = /<p class="secret" id="new-password">([^<]+)<\/p>/.exec(await res.text())![1]!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(JSON.stringify(await stack.stores.admin.smtpUsers())).not.toContain(password);
    await expect
      .poll(
        async () =>
          (await send(['newbie-ok@client.example'], { user: 'newbie', pass: password }).catch(() => null))?.response,
        {
          timeout: 5000,
          interval: 250,
        },
      )
      .toMatch(/^250 /);
    expect((await client.post('/admin/users/newbie/disable')).status).toBe(303);
    await expect
      .poll(
        async () =>
          smtpErrorOf(await send(['x@client.example'], { user: 'newbie', pass: password }).catch((e: unknown) => e))
            .responseCode,
        { timeout: 5000, interval: 250 },
      )
      .toBe(535);
    const users = (await (await client.get('/admin/api/users')).json()) as {
      name: string;
      disabled: boolean;
      logins?: { lastLoginAt?: string };
    }[];
    expect(users.find((u) => u.name === 'newbie')).toMatchObject({
      disabled: true,
      logins: { lastLoginAt: expect.any(String) },
    });
    const trail = (await stack.console.auditTrail()).items.map((e) => `${e.actor} ${e.action} ${e.target}`);
    expect(trail).toContain('ada smtp-user.add newbie');
    expect(trail).toContain('ada smtp-user.change newbie');
  });

  it('adds and removes oppositions (removal only with a justification, kept) and the next send follows', async () => {
    const client = await admin();
    await client.post('/admin/oppositions', {
      controller: 'acme',
      subject: 'Carol@Client.example',
      note: 'phoned on 2026-11-20',
    });
    const refused = await send(['carol@client.example']).catch((e: unknown) => e);
    expect(smtpErrorOf(refused).response).toMatch(/^550 5\.7\.1 <carol@client\.example>: recipient has objected/);
    const noReason = await client.post('/admin/oppositions/remove', {
      controller: 'acme',
      subject: 'carol@client.example',
      justification: 'ok',
    });
    expect(noReason.status).toBe(400);
    expect(await noReason.text()).toContain('needs a justification');
    const removed = await client.post('/admin/oppositions/remove', {
      controller: 'acme',
      subject: 'carol@client.example',
      justification: 'Consented again by e-mail on 2026-11-27 (ticket 4711)',
    });
    expect(removed.status).toBe(303);
    expect((await send(['carol@client.example'])).response).toMatch(/^250 /);
    const entry = (await stack.console.auditTrail()).items.find((e) => e.action === 'opposition.remove')!;
    expect(entry).toMatchObject({
      actor: 'ada',
      target: 'carol@client.example',
      reason: 'Consented again by e-mail on 2026-11-27 (ticket 4711)',
      details: { origin: 'manual' },
    });
    expect(entry.details.evidence).toContain('phoned on 2026-11-20');
  });

  it('imports an opt-out list in slices, reports every refused row with its line, and exports it again', async () => {
    const client = await admin();
    const lines = [
      'email;name',
      'imp1@client.example;A',
      'not an address;B',
      '@optout.example;C',
      'imp1@client.example;D',
      ';E',
    ];
    const res = await client.request(
      'POST',
      '/admin/api/oppositions/import?controller=acme&file=optout.csv&firstLine=1',
      {
        body: lines.join('\n'),
        type: 'text/csv',
        headers: { 'x-csrf-token': client.csrf },
      },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      rows: 5,
      added: 2,
      existing: 0,
      refused: [
        { line: 3, value: 'not an address', reason: 'neither an address nor @domain' },
        { line: 5, value: 'imp1@client.example', reason: 'repeats line 2' },
        { line: 6, value: '', reason: 'empty' },
      ],
    });
    const entry = (await stack.console.oppositions('acme', 'imp1@client.example')).items[0]!;
    expect(entry).toMatchObject({ origin: 'import', evidence: { file: 'optout.csv', by: 'ada' } });
    const refused = await send(['anyone@optout.example']).catch((e: unknown) => e);
    expect(smtpErrorOf(refused).responseCode).toBe(550);
    const csv = await (await client.get('/admin/oppositions.csv?controller=acme')).text();
    expect(csv).toContain("'@optout.example,import,");
    // What was exported imports back as itself (the formula guard is taken off).
    const again = await client.request('POST', '/admin/api/oppositions/import?controller=acme&file=export.csv', {
      body: csv,
      type: 'text/csv',
      headers: { 'x-csrf-token': client.csrf },
    });
    const report = (await again.json()) as { added: number; existing: number; refused: unknown[] };
    expect(report.added).toBe(0);
    expect(report.refused).toEqual([]);
    expect(report.existing).toBeGreaterThanOrEqual(3);
  });

  it('keeps an audit trail that has no route to change it, exportable as CSV', async () => {
    const client = await admin();
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await client.request(method, '/admin/audit', { form: { csrf: client.csrf } });
      expect([405, 404]).toContain(res.status);
    }
    const res = await client.get('/admin/audit.csv');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="audit-trail-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    // A byte-order mark first, so that Excel reads the UTF-8 (fetch's text() would drop it).
    const csv = Buffer.from(await res.arrayBuffer()).toString('utf8');
    expect(csv.startsWith('\uFEFFat,actor,via,action,controller,target,reason,details\r\n')).toBe(true);
    expect(csv).toContain('opposition.import');
  });
});
