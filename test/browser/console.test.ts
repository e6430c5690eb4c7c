import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../shared/console/service.ts';
import { browserAvailable, SCREENSHOTS, useBrowserStack } from '../helpers/browser.ts';
import { testConfig } from '../helpers/config.ts';
import { plainMessage } from '../helpers/messages.ts';
import { sendWithNodemailer, smtpErrorOf } from '../helpers/smtp.ts';

/**
 * The admin console as an admin uses it, in Chromium: log in, find a blocked send made by a real
 * SMTP send, review a flagged one, add / remove / import oppositions and watch the relay follow,
 * add an SMTP user and send with it, read the audit trail. Screenshots of each screen are left in
 * test-results/screenshots (the README shows some).
 */
const env = useBrowserStack(async () => ({
  config: await testConfig((raw) => {
    raw.smtp.userRefreshMs = 200;
  }),
}));
const PASSWORD = 'console-admin-password-1';
const operator: Actor = { name: 'test', role: 'admin', via: 'cli' };
let page: Page;
let base: string;

const send = (to: string, options: { user?: string; pass?: string; subject?: string; headers?: string[] } = {}) =>
  sendWithNodemailer(env.stack, {
    from: 'alice@acme.example',
    to: [to],
    raw: plainMessage({ to, subject: options.subject ?? 'Notre offre', extraHeaders: options.headers }),
    ...(options.user ? { user: options.user, pass: options.pass } : {}),
  });
const replyTo = async (to: string, options: Parameters<typeof send>[1] = {}) => {
  try {
    return (await send(to, options)).response;
  } catch (err) {
    return smtpErrorOf(err).response ?? String(err);
  }
};
const shot = (name: string) => page.screenshot({ path: `${SCREENSHOTS}/console-${name}.png`, fullPage: true });

describe.skipIf(!browserAvailable)('the admin console in a browser', () => {
  beforeAll(async () => {
    await env.stack.console.createAdmin(operator, 'ada', 'admin', PASSWORD);
    base = `http://127.0.0.1:${env.stack.http.port}`;
    const context = await env.browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
  });

  it('asks for a login, refuses a wrong password, and lets the admin in', async () => {
    await page.goto(`${base}/admin/blocked`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await page.getByLabel('Account').fill('ada');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong account or password');
    await shot('login');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${base}/admin`);
    expect(await page.locator('h1').textContent()).toBe('Overview');
  });

  it('adds an opposition; the next send to it is refused and shows in the blocked list with its evidence', async () => {
    await page.goto(`${base}/admin/oppositions?controller=acme`);
    await page.getByLabel('Address or @domain to oppose').fill('dora@client.example');
    await page.getByLabel('Note (how the person objected)').fill('asked by phone on 2026-11-27');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    expect(await page.getByRole('status').textContent()).toContain('dora@client.example is on the opposition list');
    await shot('oppositions');

    expect(await replyTo('dora@client.example')).toMatch(/^550 5\.7\.1 <dora@client\.example>/);
    // With another recipient the message reaches DATA: the record learns its subject and Message-ID.
    const info = await sendWithNodemailer(env.stack, {
      from: 'alice@acme.example',
      to: ['dora@client.example', 'ed@client.example'],
      raw: plainMessage({ to: 'dora@client.example, ed@client.example', subject: 'Offre spéciale DSI' }),
    });
    expect(info.rejected).toEqual(['dora@client.example']);

    await page.goto(`${base}/admin/blocked?controller=acme`);
    await page.getByLabel('Recipient').fill('dora@client.example');
    await page.getByRole('button', { name: 'Filter' }).click();
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.first().textContent()).toContain('opposition:address');
    expect(await rows.first().textContent()).toContain('Offre spéciale DSI');
    await shot('blocked');
    await rows
      .first()
      .getByRole('link', { name: /Details/ })
      .click();
    const detail = await page.locator('main').textContent();
    expect(detail).toContain('Offre spéciale DSI');
    expect(detail).toContain('550 5.7.1');
    expect(detail).toContain('asked by phone on 2026-11-27');
    expect(detail).toMatch(/Origin\s*manual/);
    await shot('blocked-detail');
  });

  it('reviews a flagged send from the review queue', async () => {
    await env.stack.stores.contacts.save({
      controller: 'acme',
      address: 'chef@client.example',
      profession: 'Chef de cuisine',
      source: 'annuaire',
    });
    expect(await replyTo('chef@client.example', { headers: ['X-Fairsend-Purpose: acme-cto'] })).toMatch(/^250 /);
    await page.goto(`${base}/admin`);
    await page.getByRole('link', { name: '1', exact: true }).last().click(); // "awaiting review"
    expect(await page.locator('h1').textContent()).toBe('Flagged sends awaiting review');
    await page
      .locator('tbody tr', { hasText: 'chef@client.example' })
      .getByRole('link', { name: /Details/ })
      .click();
    await page.getByLabel(/Comment/).fill('Checked with sales: he runs IT for a restaurant group.');
    await shot('review');
    await page.getByRole('button', { name: 'Mark reviewed' }).click();
    expect(await page.getByRole('status').first().textContent()).toContain('Marked reviewed');
    expect(await page.locator('main').textContent()).toContain('reviewed by ada');
  });

  it('removes an opposition only with a justification, and the next send goes through', async () => {
    await page.goto(`${base}/admin/oppositions?controller=acme&q=dora@client.example`);
    await page.locator('summary', { hasText: 'Remove' }).click();
    await page.getByLabel(/Justification/).fill('Consented again by e-mail on 2026-11-28 (ticket 4711)');
    await page.getByRole('button', { name: 'Remove dora@client.example' }).click();
    expect(await page.getByRole('status').textContent()).toContain('dora@client.example was removed');
    expect(await replyTo('dora@client.example')).toMatch(/^250 /);
  });

  it('imports an opt-out list of 1,200 rows with progress and every refused row, and the relay refuses them', async () => {
    await page.goto(`${base}/admin/oppositions/import?controller=acme`);
    const rows = ['email'];
    for (let i = 0; i < 1200; i++)
      rows.push(i === 17 ? 'not-an-address' : i === 900 ? 'optout5@list.example' : `optout${i}@list.example`);
    await page.locator('input[type=file]').setInputFiles({
      name: 'optout-2026.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`${rows.join('\r\n')}\r\n`),
    });
    await page.getByRole('button', { name: 'Import' }).click();
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Done.'), null, {
      timeout: 60_000,
    });
    const status = await page.locator('#status').textContent();
    expect(status).toBe('Done. 1200 of 1200 rows: 1198 added, 0 already on the list, 2 refused.');
    const refused = await page.locator('#refused tbody tr').allTextContents();
    expect(refused).toEqual([
      '19not-an-addressneither an address nor @domain',
      '902optout5@list.examplerepeats line 7',
    ]);
    await shot('import');
    expect(await replyTo('optout1000@list.example')).toMatch(/^550 /);
    const entry = (await env.stack.console.oppositions('acme', 'optout1000@list.example')).items[0];
    expect(entry).toMatchObject({ origin: 'import', evidence: { file: 'optout-2026.csv', line: '1002' } });
  });

  it('imports contacts from the console as the CLI does, every refused row listed', async () => {
    await page.goto(`${base}/admin/contacts/import?controller=acme`);
    const csv =
      'address;source;profession;language\r\nimp.a@client.example;salon Lyon;DSI;fr\r\nnot an address;salon;;\r\nimp.b@client.example;salon Lyon;CTO;xx\r\n';
    await page
      .locator('input[type=file]')
      .setInputFiles({ name: 'contacts.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Import' }).click();
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Done.'));
    expect(await page.locator('#status').textContent()).toBe('Done. 3 of 3 rows: 1 saved, 2 refused.');
    const refused = await page.locator('#refused tbody tr').allTextContents();
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatch(/^3.*address/);
    expect(refused[1]).toMatch(/^4.*language: must be one of fr, en, de/);
    expect((await env.stack.console.contact('acme', 'imp.a@client.example'))?.source).toBe('salon Lyon');
  });

  it('adds an SMTP user, shows its password once, and the relay accepts it within seconds', async () => {
    await page.goto(`${base}/admin/users/new`);
    await page.getByLabel('User name').fill('marketing');
    await page.getByLabel(/Allowed senders/).fill('alice@acme.example');
    await page.getByLabel('Default purpose').selectOption('acme-prospecting');
    await page.getByRole('button', { name: 'Add user and make a password' }).click();
    const password = (await page.locator('#new-password').textContent())!.trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    await shot('user-added');
    await expect
      .poll(() => replyTo('welcome@client.example', { user: 'marketing', pass: password }), {
        timeout: 5000,
        interval: 250,
      })
      .toMatch(/^250 /);
    await page.goto(`${base}/admin/users`);
    expect(await page.locator('tbody tr', { hasText: 'marketing' }).textContent()).toContain('enabled');
    await shot('users');
  });

  it('shows the audit trail, the overview with its chart, sent mail and a person on one page', async () => {
    await page.goto(`${base}/admin/audit`);
    const trail = await page.locator('tbody').textContent();
    for (const action of [
      'opposition.add',
      'opposition.remove',
      'opposition.import',
      'flagged-send.review',
      'smtp-user.add',
    ]) {
      expect(trail).toContain(action);
    }
    expect(trail).toContain('Consented again by e-mail on 2026-11-28 (ticket 4711)');
    await shot('audit');
    await page.goto(`${base}/admin?controller=acme&days=7`);
    expect(await page.locator('svg.chart rect').count()).toBeGreaterThan(0);
    expect(await page.locator('svg.chart desc').textContent()).toContain('blocked:opposition:address: 3');
    await shot('overview');
    await page.goto(`${base}/admin/sent?controller=acme`);
    expect(await page.locator('tbody tr').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('tbody tr', { hasText: 'ed@client.example' }).textContent()).toContain(
      'Offre spéciale DSI',
    );
    await shot('sent');
    await page.goto(`${base}/admin/contacts?controller=acme&address=dora@client.example`);
    const person = await page.locator('main').textContent();
    expect(person).toContain('Copies sent (1)');
    expect(person).toContain('Blocked and flagged (2)');
    expect(person).toContain('opposition.remove');
    await shot('person');
  });

  it('answers data-subject requests: records one, shows the access report, erases, and shows the register', async () => {
    expect(await replyTo('erin@client.example', { subject: 'Pour Erin' })).toMatch(/^250 /);
    await page.goto(`${base}/admin/privacy`);
    await page.getByLabel('Kind').selectOption('erasure');
    await page.getByLabel('Address of the person').fill('erin@client.example');
    await page.getByLabel('Channel').fill('letter of 2026-11-25');
    await page.getByRole('button', { name: 'Record' }).click();
    expect(await page.getByRole('status').first().textContent()).toMatch(
      /Request 2026-\d\d-\d\d-[0-9a-f]{8}: recorded/,
    );
    expect(await page.locator('section[aria-labelledby=open-requests] tbody').textContent()).toContain(
      'e***@client.example',
    );
    await shot('privacy');

    await page.locator('section[aria-labelledby=access]').getByLabel('Address').fill('erin@client.example');
    await page.getByRole('button', { name: 'Show the report' }).click();
    expect(await page.locator('h1').textContent()).toBe('Vos données personnelles');
    expect(await page.locator('body').textContent()).toContain('Pour Erin');
    await shot('access-report');

    await page.goto(`${base}/admin/privacy`);
    const erase = page.locator('section[aria-labelledby=erase]');
    await erase.getByLabel('Address').fill('erin@client.example');
    await erase.locator('select[name=requestId]').selectOption({ index: 1 });
    await erase.getByLabel('I understand this cannot be undone').check();
    await erase.getByRole('button', { name: 'Erase' }).click();
    expect(await page.getByRole('status').first().textContent()).toMatch(
      /Erased\. acme: 1 contact record\(s\), 3 send-log item\(s\)/,
    );
    expect(await page.locator('section[aria-labelledby=closed] tbody').textContent()).toContain('erased: 4 items');
    expect(await replyTo('erin@client.example')).toMatch(
      /^550 5\.7\.1 <erin@client\.example>: recipient has had their data erased/,
    );

    await page.goto(`${base}/admin/register?lang=fr`);
    const register = await page.locator('main').textContent();
    expect(register).toContain('Registre des traitements (art. 30)');
    expect(register).toContain('Finding customers for our services');
    expect(register).toContain('erasure: 1');
    await shot('register');
  });

  it('works on a tablet, and labels every field', async () => {
    await page.setViewportSize({ width: 768, height: 1024 });
    await page.goto(`${base}/admin/blocked?controller=acme`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('tablet-blocked');
    for (const path of [
      '/admin/blocked',
      '/admin/oppositions',
      '/admin/users/new',
      '/admin/contacts?address=dora@client.example',
      '/admin/privacy',
      '/admin/register',
    ]) {
      await page.goto(`${base}${path}`);
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
          .filter((el) => !el.closest('label') && !el.getAttribute('aria-label'))
          .map((el) => el.outerHTML),
      );
      expect([path, unlabelled]).toEqual([path, []]);
    }
    await page.setViewportSize({ width: 1280, height: 860 });
  });
});
