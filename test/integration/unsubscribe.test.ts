import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { issueToken } from '../../shared/unsubscribe-token.ts';
import { plainMessage } from '../helpers/messages.ts';
import { sendWithNodemailer, smtpErrorOf } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';
import { sendAndGetToken } from '../helpers/unsubscribe-token.ts';

let stack: LocalStack;
let base: string;
beforeAll(async () => {
  stack = await startTestStack();
  base = `http://127.0.0.1:${stack.http.port}`;
});
afterAll(async () => {
  await stack?.stop();
});

const tokenFor = (address: string, extraHeaders: string[] = []) => sendAndGetToken(stack, address, extraHeaders);

const oppositionOf = async (address: string) =>
  (await stack.stores.oppositions.list('acme')).find((o) => o.subject === address);
const sendAgain = (address: string) =>
  sendWithNodemailer(stack, { from: 'alice@acme.example', to: [address], raw: plainMessage() }).catch(
    (e: unknown) => e,
  );

describe('unsubscribe endpoint', () => {
  it('never unsubscribes on GET or HEAD (link scanners), and shows a page in the recipient’s language', async () => {
    const token = await tokenFor('scanner@client.example');
    const get = await fetch(`${base}/u/${token}`);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await get.text();
    expect(html).toContain('<html lang="fr">');
    expect(html).toContain('ACME Prospection SARL');
    expect(html).toContain('Confirmer la désinscription');
    const head = await fetch(`${base}/u/${token}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(await oppositionOf('scanner@client.example')).toBeUndefined();
    expect(((await sendAgain('scanner@client.example')) as { response: string }).response).toMatch(/^250 /);
  });

  it('unsubscribes on a one-click POST (urlencoded) with 200, no redirect, no cookie; the next send is refused at RCPT', async () => {
    const token = await tokenFor('oneclick@client.example');
    const before = Date.now();
    const res = await fetch(`${base}/u/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
      redirect: 'manual',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.text()).toContain('Désinscription enregistrée');
    const opposition = await oppositionOf('oneclick@client.example');
    expect(opposition).toMatchObject({ origin: 'one-click', controller: 'acme' });
    expect(Date.parse(opposition!.requestedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(opposition!.effectiveAt) - Date.parse(opposition!.requestedAt)).toBeLessThan(5000);
    expect(opposition!.evidence.copyId).toBeTruthy();
    expect(smtpErrorOf(await sendAgain('oneclick@client.example')).response).toMatch(
      /^550 5\.7\.1 <oneclick@client\.example>: recipient has objected/,
    );
  });

  it('says on a second visit that the person is already unsubscribed, since when, for which (masked) address', async () => {
    const token = await tokenFor('revisit@client.example');
    const first = await (await fetch(`${base}/u/${token}`)).text();
    expect(first).toContain('Confirmer la désinscription');
    expect(first).toContain('r***@client.example');
    expect(first).not.toContain('revisit@client.example');
    expect(first).toContain("messages de prospection d'ACME Prospection SARL");
    await fetch(`${base}/u/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    const again = await (await fetch(`${base}/u/${token}`)).text();
    expect(again).not.toContain('Confirmer la désinscription');
    const today = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeZone: 'UTC' }).format(new Date());
    expect(again).toContain(`Vous êtes déjà désinscrit des messages d'ACME Prospection SARL depuis le ${today}`);
    expect(again).toContain('r***@client.example');
  });

  it('unsubscribes on a one-click POST sent as multipart/form-data', async () => {
    const token = await tokenFor('multipart@client.example');
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const res = await fetch(`${base}/u/${token}`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect((await oppositionOf('multipart@client.example'))?.origin).toBe('one-click');
  });

  it('is idempotent: the tenth POST changes nothing and still answers 200', async () => {
    const token = await tokenFor('repeat@client.example');
    const post = () =>
      fetch(`${base}/u/${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
    expect((await post()).status).toBe(200);
    const first = await oppositionOf('repeat@client.example');
    for (let i = 0; i < 9; i++) expect((await post()).status).toBe(200);
    expect(await oppositionOf('repeat@client.example')).toEqual(first);
  });

  it('rejects forged, garbled and truncated tokens with 400 and writes nothing', async () => {
    const token = await tokenFor('victim@client.example');
    const before = (await stack.stores.oppositions.list('acme')).length;
    const forged = token.slice(0, -6) + (token.at(-6) === 'x' ? 'y' : 'x') + token.slice(-5);
    for (const bad of [forged, token.slice(0, 40), 'garbage', `k2.${'A'.repeat(60)}`, encodeURIComponent('<script>')]) {
      for (const method of ['GET', 'POST']) {
        const res = await fetch(`${base}/u/${bad}`, {
          method,
          ...(method === 'POST'
            ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' }
            : {}),
        });
        expect(res.status).toBe(400);
        expect(await res.text()).toContain('not valid');
      }
    }
    expect((await stack.stores.oppositions.list('acme')).length).toBe(before);
  });

  it('keeps accepting a token signed with a rotated-out key that is still listed', async () => {
    const old = issueToken(
      { ...stack.config.tokens, activeKeyId: 'k1' },
      { controller: 'acme', recipient: 'rotated@client.example', copyId: 'old' },
    );
    const res = await fetch(`${base}/u/${old}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(200);
    expect((await oppositionOf('rotated@client.example'))?.origin).toBe('one-click');
  });

  it('refuses a POST without the one-click field and other methods', async () => {
    const token = await tokenFor('nobody@client.example');
    expect((await fetch(`${base}/u/${token}`, { method: 'POST' })).status).toBe(400);
    expect((await fetch(`${base}/u/${token}`, { method: 'PUT', body: 'x' })).status).toBe(405);
    expect(await oppositionOf('nobody@client.example')).toBeUndefined();
  });

  it('records the page’s own form as an unsubscribe-link opposition', async () => {
    const token = await tokenFor('page@client.example', ['X-Fairsend-Language: de']);
    const page = await (await fetch(`${base}/u/${token}`)).text();
    expect(page).toContain('<html lang="de">');
    const res = await fetch(`${base}/u/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click&via=page',
    });
    expect(await res.text()).toContain('Abmeldung gespeichert');
    expect((await oppositionOf('page@client.example'))?.origin).toBe('unsubscribe-link');
  });
});

describe('mailto unsubscribe', () => {
  it('unsubscribes from a mail to the unsubscribe address with the token in the subject', async () => {
    const token = await tokenFor('mailer@client.example');
    const raw = `From: mailer@client.example\r\nTo: unsubscribe@acme.example\r\nSubject: unsubscribe ${token}\r\n\r\n\r\n`;
    const res = await fetch(`${base}/local/inbound-mail`, {
      method: 'POST',
      headers: { 'content-type': 'message/rfc822' },
      body: raw,
    });
    expect(await res.json()).toEqual({ unsubscribed: 1, ignored: 0 });
    expect((await oppositionOf('mailer@client.example'))?.origin).toBe('mailto');
  });

  it('unsubscribes from the same mail delivered through SNS (the receipt rule in a receiving region)', async () => {
    const token = await tokenFor('viasns@client.example');
    const raw = `From: viasns@client.example\r\nTo: unsubscribe@acme.example\r\nSubject: unsubscribe ${token}\r\n\r\n\r\n`;
    const res = await fetch(`${base}/local/inbound-mail?via=sns`, {
      method: 'POST',
      headers: { 'content-type': 'message/rfc822' },
      body: raw,
    });
    expect(await res.json()).toEqual({ unsubscribed: 1, ignored: 0 });
    expect((await oppositionOf('viasns@client.example'))?.origin).toBe('mailto');
  });

  it('reads a token that ends in "-" whole, in the subject and in the address (one token in 64 does)', async () => {
    // \b after the token found no boundary after a final "-" and cut the token short: such mail was ignored.
    const endingInDash = (recipient: string) => {
      // Only a body whose length is a multiple of 3 can end in any character: the copy id varies it.
      for (let i = 0; i < 10_000; i++) {
        const copyId = `dash${'x'.repeat(i % 3)}${i}`;
        const token = issueToken(stack.config.tokens, { controller: 'acme', recipient, copyId });
        if (token.endsWith('-')) return token;
      }
      throw new Error('no token ending in "-" in 10,000 tries');
    };
    const bySubject = endingInDash('dash-subject@client.example');
    const byAddress = endingInDash('dash-address@client.example');
    for (const [raw, subject] of [
      [
        `From: a@client.example\r\nTo: unsubscribe@acme.example\r\nSubject: Re: unsubscribe ${bySubject}\r\n\r\n\r\n`,
        'dash-subject@client.example',
      ],
      [
        `From: b@client.example\r\nTo: unsubscribe+${byAddress}@acme.example\r\nSubject: stop\r\n\r\n\r\n`,
        'dash-address@client.example',
      ],
    ] as const) {
      const res = await fetch(`${base}/local/inbound-mail`, {
        method: 'POST',
        headers: { 'content-type': 'message/rfc822' },
        body: raw,
      });
      expect(await res.json()).toEqual({ unsubscribed: 1, ignored: 0 });
      expect((await oppositionOf(subject))?.origin).toBe('mailto');
    }
  });

  it('ignores a mail without a valid token', async () => {
    const raw = 'From: x@client.example\r\nTo: unsubscribe@acme.example\r\nSubject: unsubscribe me please\r\n\r\n\r\n';
    const res = await fetch(`${base}/local/inbound-mail`, {
      method: 'POST',
      headers: { 'content-type': 'message/rfc822' },
      body: raw,
    });
    expect(await res.json()).toEqual({ unsubscribed: 0, ignored: 1 });
  });
});
