import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snsEnvelope } from '../../infra/local/mailbox-simulator.ts';
import type { LocalStack } from '../../infra/local/stack.ts';
import { accessReportHtml } from '../../shared/console/access-report.ts';
import type { Actor } from '../../shared/console/service.ts';
import { erasedSubject } from '../../shared/rules/opposition.ts';
import type { TableNames } from '../../shared/stores/dynamo.ts';
import { runCli } from '../helpers/cli.ts';
import { plainMessage } from '../helpers/messages.ts';
import { sendWithNodemailer, smtpErrorOf } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

/**
 * The DPO's duties end to end on the local stack: an access export of a person who was sent,
 * blocked, bounced and opposed; their erasure, after which a send to them and CSV imports of them
 * are refused; the register of requests; retention (TTL attributes, the local purge, the preview).
 */
let stack: LocalStack;
const dpo: Actor = { name: 'dpo', role: 'admin', via: 'cli' };
const dir = mkdtempSync(join(tmpdir(), 'fairsend-privacy-'));
let configFile: string;

beforeAll(async () => {
  stack = await startTestStack();
  configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(stack.config));
});
afterAll(async () => {
  await stack?.stop();
});

const reply = async (to: string, subject = 'Notre offre') => {
  try {
    return (
      await sendWithNodemailer(stack, { from: 'alice@acme.example', to: [to], raw: plainMessage({ to, subject }) })
    ).response;
  } catch (err) {
    return smtpErrorOf(err).response ?? String(err);
  }
};

async function bounce(recipient: string, sesMessageId: string): Promise<void> {
  await stack.sesEvents(
    snsEnvelope({
      eventType: 'Bounce',
      mail: { messageId: sesMessageId, destination: [recipient], tags: { controller: ['acme'] } },
      bounce: {
        bounceType: 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: [{ emailAddress: recipient, diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
        timestamp: new Date().toISOString(),
        feedbackId: `fb-${sesMessageId}`,
      },
    }),
  );
}

async function scan(table: keyof TableNames): Promise<Record<string, unknown>[]> {
  const out = await stack.db.send(new ScanCommand({ TableName: stack.config.dynamodb.tables[table] }));
  return out.Items ?? [];
}

describe('access and erasure', () => {
  it('exports everything held about a person who was sent, blocked, bounced and opposed, as JSON and as a page in their language', async () => {
    await stack.console.saveContact(dpo, {
      controller: 'acme',
      address: 'pat@client.example',
      source: 'carte de visite, salon IT Lyon',
      profession: 'DSI',
      language: 'fr',
    });
    expect(await reply('pat@client.example', 'Première prise de contact')).toMatch(/^250 /);
    expect(await reply('pat+news@client.example', 'Lettre de novembre')).toMatch(/^250 /);
    const tagged = stack.ses!.messages.find((m) => m.destination.includes('pat+news@client.example'))!;
    await bounce('pat+news@client.example', tagged.id);
    expect(await reply('pat+news@client.example', 'Relance')).toMatch(
      /^550 5\.7\.1 <pat\+news@client\.example>: address is undeliverable/,
    );
    await stack.console.addOpposition(dpo, 'acme', 'pat@client.example', 'asked by phone');

    const report = await stack.console.privacy.access(undefined, 'PAT@client.example');
    const acme = report.controllers.find((c) => c.controller === 'acme')!;
    expect(acme.addresses).toEqual(['pat+news@client.example', 'pat@client.example']);
    expect(acme.contacts.map((c) => [c.address, c.source])).toEqual([
      ['pat+news@client.example', undefined], // made by the first contact of the tagged address
      ['pat@client.example', 'carte de visite, salon IT Lyon'],
    ]);
    expect(acme.sent.map((s) => [s.recipient, s.subject, s.events.map((e) => e.kind)])).toEqual([
      ['pat+news@client.example', 'Lettre de novembre', ['bounced']],
      ['pat@client.example', 'Première prise de contact', []],
    ]);
    expect(acme.blocked.map((b) => [b.recipient, b.rule])).toEqual([['pat+news@client.example', 'opposition:address']]);
    expect(acme.oppositions.map((o) => o.origin).sort()).toEqual(['hard-bounce', 'manual']);
    expect(acme.audit.map((a) => a.action)).toEqual(expect.arrayContaining(['opposition.add', 'contact.save']));
    expect(report.controllers.find((c) => c.controller === 'globex')!.sent).toEqual([]);

    const page = accessReportHtml(report, 'fr');
    expect(page).toContain('<h1>Vos données personnelles</h1>');
    expect(page).toContain('carte de visite, salon IT Lyon');
    expect(page).toContain('Lettre de novembre');
    expect(page).toContain('dpo@acme.example');
    expect(accessReportHtml(report, 'en')).toContain('<h1>Your personal data</h1>');

    const cli = await runCli(
      configFile,
      dir,
      'access',
      'pat@client.example',
      '--controller',
      'acme',
      '--html',
      join(dir, 'pat.html'),
    );
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout).controllers[0].sent).toHaveLength(2);
    expect(readFileSync(join(dir, 'pat.html'), 'utf8')).toContain('Vos données personnelles');
  });

  it('erases the person but keeps their opposition as a keyed hash: sends and imports of them are refused', async () => {
    const request = await stack.console.privacy.createRequest(dpo, {
      controller: 'acme',
      kind: 'erasure',
      address: 'pat@client.example',
      channel: 'e-mail to dpo@acme.example',
    });
    expect(request.subjectMasked).toBe('p***@client.example');
    const [erased] = await stack.console.privacy.erase(dpo, undefined, 'pat@client.example', { requestId: request.id });
    expect(erased).toMatchObject({ controller: 'acme', addresses: 2, contacts: 2, blocked: 1 });
    expect(erased!.sendLog).toBeGreaterThanOrEqual(7); // 2 copies × (history, idempotency, SES id) + the bounce event

    // Nothing left in clear, anywhere but the opposition list's keyed hashes.
    for (const table of ['contacts', 'sendLog', 'blockedSends', 'oppositions'] as const) {
      expect([table, JSON.stringify(await scan(table)).includes('pat@client.example')]).toEqual([table, false]);
      expect([table, JSON.stringify(await scan(table)).includes('pat+news@client.example')]).toEqual([table, false]);
    }
    expect(JSON.stringify(await scan('oppositions'))).toContain(
      erasedSubject(stack.config.privacy.erasureKey!, 'pat@client.example'),
    );
    const trail = (await stack.console.auditTrail()).items.filter((e) => e.action.startsWith('privacy.'));
    expect(trail.map((e) => e.action)).toEqual(['privacy.done', 'privacy.erasure', 'privacy.request']);
    expect(JSON.stringify(trail)).not.toContain('pat@');

    // The relay still refuses them, and any +tag variant.
    expect(await reply('pat@client.example')).toMatch(
      /^550 5\.7\.1 <pat@client\.example>: recipient has had their data erased by ACME Prospection SARL/,
    );
    expect(await reply('pat+other@client.example')).toMatch(
      /^550 5\.7\.1 <pat\+other@client\.example>: recipient has had their data erased/,
    );
    expect(await reply('patrick@client.example')).toMatch(/^250 /);
    // Those refusals are recorded under the keyed hash: the address is not written back.
    const refusals = (await scan('blockedSends')).filter((b) => String(b.recipient).startsWith('#'));
    expect(refusals).toHaveLength(2);
    expect(JSON.stringify(await scan('blockedSends'))).not.toMatch(/pat(\+\w+)?@client\.example/);

    // A contact import of them is refused; an opt-out import does not write them back in clear.
    const csv = join(dir, 'contacts.csv');
    writeFileSync(csv, 'address,source\npat@client.example,fichier acheté\nnew@client.example,fichier acheté\n');
    const imported = await runCli(configFile, dir, 'contacts', 'import', csv, '--controller', 'acme');
    expect(imported.code).toBe(1);
    expect(imported.stderr).toContain('line 2: this person had their data erased on');
    expect((await stack.stores.contacts.getMany('acme', ['pat@client.example', 'new@client.example'])).size).toBe(1);
    await expect(
      stack.console.saveContact(dpo, { controller: 'acme', address: 'pat@client.example', source: 'x' }),
    ).rejects.toThrow(/erased/);
    const optout = await stack.console.importOppositions(dpo, 'acme', {
      text: 'email\npat@client.example\npat+x@client.example\n',
      file: 'old.csv',
    });
    expect(optout).toMatchObject({ added: 0, existing: 2, refused: [] });
    expect(await stack.console.addOpposition(dpo, 'acme', 'pat@client.example', '')).toMatchObject({
      created: false,
      entry: { origin: 'erasure' },
    });
    expect(JSON.stringify(await scan('oppositions'))).not.toContain('pat@client.example');

    // An old copy's unsubscribe link, and SES feedback arriving late, do not write them back either.
    const old = stack.ses!.messages.find((m) => m.destination.includes('pat@client.example'))!;
    const token = /^List-Unsubscribe: <https:\/\/[^/]+\/u\/([\w.-]+)>/m.exec(old.raw.toString('latin1'))![1]!;
    const click = await fetch(`http://127.0.0.1:${stack.http.port}/u/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(click.status).toBe(200);
    await bounce('pat@client.example', old.id);
    await stack.sesEvents(
      snsEnvelope({
        eventType: 'Delivery',
        mail: { messageId: old.id, destination: ['pat@client.example'], tags: { controller: ['acme'] } },
        delivery: { timestamp: new Date().toISOString(), recipients: ['pat@client.example'] },
      }),
    );
    for (const table of ['sendLog', 'oppositions'] as const) {
      expect([table, JSON.stringify(await scan(table)).includes('pat@client.example')]).toEqual([table, false]);
    }

    const after = await stack.console.privacy.access('acme', 'pat@client.example');
    expect(after.controllers[0]).toMatchObject({ erased: true, contacts: [], sent: [], blocked: [] });
    expect((await stack.console.privacy.requests()).find((r) => r.id === request.id)).toMatchObject({
      status: 'done',
      closedBy: 'dpo',
    });
  });
});

describe('the register of requests', () => {
  it('lists open requests by deadline, extends one with its reason, and closes one', async () => {
    const late = await stack.console.privacy.createRequest(dpo, {
      controller: 'acme',
      kind: 'access',
      address: 'old@client.example',
      receivedAt: '2026-09-01',
    });
    const soon = await stack.console.privacy.createRequest(dpo, {
      controller: 'acme',
      kind: 'rectification',
      address: 'soon@client.example',
    });
    const list = await stack.console.privacy.requests();
    const open = list.filter((r) => r.status === 'open').map((r) => r.id);
    expect(open.indexOf(late.id)).toBeLessThan(open.indexOf(soon.id));
    expect(list.find((r) => r.id === late.id)!.dueIn).toBeLessThan(0);
    await expect(stack.console.privacy.extend(dpo, soon.id, 'short')).rejects.toThrow(/reason/);
    await expect(
      stack.console.privacy.createRequest(dpo, {
        kind: 'access',
        address: 'x@client.example',
        receivedAt: '2026-02-30',
      }),
    ).rejects.toThrow('receivedAt: the date the request arrived, YYYY-MM-DD, not "2026-02-30"');
    const extended = await stack.console.privacy.extend(
      dpo,
      soon.id,
      'Records spread over three systems, asked on 2026-11-28',
    );
    expect(Date.parse(extended.extension!.until) - Date.parse(soon.deadline)).toBe(60 * 86_400_000);
    await expect(stack.console.privacy.extend(dpo, soon.id, 'again and again and again')).rejects.toThrow(
      /already extended/,
    );
    const closed = await stack.console.privacy.close(dpo, late.id, 'done', 'Sent the access report by e-mail');
    expect(closed).toMatchObject({ status: 'done', outcome: 'Sent the access report by e-mail' });
    const cli = await runCli(configFile, dir, 'requests');
    expect(cli.stdout).toMatch(
      new RegExp(`^${soon.id} {2}OPEN {2}rectification {2}acme {2}s\\*\\*\\*@client\\.example`, 'm'),
    );
    expect(cli.stdout).toContain(`${late.id}  DONE`);
  });
});

describe('retention', () => {
  it('puts an expiry on every item that must go, none on oppositions, and the local purge removes what is due', async () => {
    for (const table of ['contacts', 'sendLog', 'blockedSends', 'audit'] as const) {
      const items = await scan(table);
      expect(items.length).toBeGreaterThan(0);
      const without = items.filter((i) => typeof i.expires !== 'number').map((i) => `${i.pk} ${i.sk}`);
      expect([table, without]).toEqual([table, []]);
    }
    const admin = await scan('admin');
    expect(admin.filter((i) => i.pk === 'dsr' && i.status !== 'open').every((i) => typeof i.expires === 'number')).toBe(
      true,
    );
    expect((await scan('oppositions')).some((i) => 'expires' in i)).toBe(false);
    const contact = (await scan('contacts')).find((i) => i.address === 'new@client.example')!;
    const years = ((contact.expires as number) * 1000 - Date.now()) / (365.25 * 86_400_000);
    expect(years).toBeGreaterThan(2.99);
    expect(years).toBeLessThan(3.01);

    // Past its expiry, an item is gone at the next purge; the preview says what goes and when.
    const table = stack.config.dynamodb.tables.contacts;
    const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
    await stack.db.send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: 'acme',
          sk: 'gone@client.example',
          controller: 'acme',
          address: 'gone@client.example',
          expires: Math.floor(Date.now() / 1000) - 10,
        },
      }),
    );
    await stack.db.send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: 'acme',
          sk: 'soon@client.example',
          controller: 'acme',
          address: 'soon@client.example',
          expires: Math.floor(Date.now() / 1000) + 5 * 86_400,
        },
      }),
    );
    const preview = await runCli(configFile, dir, 'retention', '--preview', '--days', '7');
    expect(preview.stdout).toMatch(/^contacts {6}contact {26}overdue {6}1 {3}next 7 days {6}1 \(first on /m);
    expect(await stack.purge()).toMatchObject({ contacts: 1 });
    expect((await scan('contacts')).map((i) => i.sk)).not.toContain('gone@client.example');
    expect((await scan('contacts')).map((i) => i.sk)).toContain('soon@client.example');
  });

  it('makes a contact whose retention is over a new first contact, with the data-source notice again', async () => {
    expect(await reply('returning@client.example', 'Premier')).toMatch(/^250 /);
    const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    await stack.db.send(
      new UpdateCommand({
        TableName: stack.config.dynamodb.tables.contacts,
        Key: { pk: 'acme', sk: 'returning@client.example' },
        UpdateExpression: 'SET expires = :past, profession = :p',
        ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 60, ':p': 'DSI' },
      }),
    );
    expect(await stack.console.contact('acme', 'returning@client.example')).toBeUndefined();
    stack.ses!.clear();
    expect(await reply('returning@client.example', 'Trois ans plus tard')).toMatch(/^250 /);
    const copy = await simpleParser(stack.ses!.messages[0]!.raw);
    expect(copy.text).toContain('Vos coordonnées professionnelles proviennent de');
    const [fresh] = (await stack.stores.contacts.getMany('acme', ['returning@client.example'])).values();
    expect(fresh?.profession).toBeUndefined();
    expect(Date.parse(fresh!.firstContactAt!)).toBeGreaterThan(Date.now() - 60_000);
  });
});
