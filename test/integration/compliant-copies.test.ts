import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { verifyToken } from '../../shared/unsubscribe-token.ts';
import { plainMessage } from '../helpers/messages.ts';
import { RawSmtp, sendWithNodemailer, smtpErrorOf } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => {
  stack.ses!.clear();
});

const send = (to: string[], raw: string) => sendWithNodemailer(stack, { from: 'alice@acme.example', to, raw });
const sentTo = async (address: string) => {
  const message = stack.ses!.messages.find((m) => m.destination[0] === address);
  if (!message) throw new Error(`nothing sent to ${address}`);
  return { raw: message.raw, parsed: await simpleParser(message.raw) };
};

describe('the CNIL mentions', () => {
  it('adds the data-source notice on the first message to a contact only', async () => {
    await send(['new.person@client.example'], plainMessage({ subject: 'Premier' }));
    const first = await sentTo('new.person@client.example');
    expect(first.parsed.text).toContain(
      'Message envoyé par ACME Prospection SARL, 1 place de la Gare, 69002 Lyon, France (contact@acme.example).',
    );
    expect(first.parsed.text).toContain('Pourquoi ce message : Votre fonction est liée à nos services.');
    expect(first.parsed.text).toContain(
      'Vos coordonnées professionnelles proviennent de : le fichier des visiteurs du Salon IT Lyon 2026.',
    );
    expect(first.parsed.text).toContain('en écrivant à dpo@acme.example');

    const [afterFirst] = (await stack.stores.contacts.getMany('acme', ['new.person@client.example'])).values();
    expect(afterFirst?.firstContactAt).toBeDefined();

    stack.ses!.clear();
    await send(['new.person@client.example'], plainMessage({ subject: 'Deuxième' }));
    const second = await sentTo('new.person@client.example');
    expect(second.parsed.text).toContain('Pourquoi ce message');
    expect(second.parsed.text).not.toContain('proviennent de');

    // A later copy does not touch the record: the first contact stands, the send log has the history.
    const [contact] = (await stack.stores.contacts.getMany('acme', ['new.person@client.example'])).values();
    expect(contact).toEqual(afterFirst);
    expect(await stack.stores.sendLog.history('acme', 'new.person@client.example')).toHaveLength(2);
  });

  it('writes the footer in the contact’s language, with their own source and date', async () => {
    await stack.stores.contacts.save({
      controller: 'acme',
      address: 'hans@kunde.example',
      language: 'de',
      source: 'Messe Hannover 2026',
      obtainedAt: '2026-04-21',
      profession: 'CTO',
    });
    await stack.stores.contacts.save({ controller: 'acme', address: 'jane@client.example', language: 'en' });
    await send(['hans@kunde.example', 'jane@client.example'], plainMessage());
    const hans = await sentTo('hans@kunde.example');
    expect(hans.parsed.text).toContain('Nachricht von ACME Prospection SARL');
    expect(hans.parsed.text).toContain(
      'Ihre geschäftlichen Kontaktdaten stammen aus: Messe Hannover 2026, erhalten am 21. April 2026.',
    );
    const jane = await sentTo('jane@client.example');
    expect(jane.parsed.text).toContain('Message sent by ACME Prospection SARL');
    expect(jane.parsed.text).toContain('Why you receive it: Your role relates to our services.');
  });

  it('lets message headers override reason, source and language, and strips them', async () => {
    const raw = plainMessage({
      extraHeaders: [
        'X-Fairsend-Reason: =?utf-8?q?Vous_avez_visit=C3=A9_notre_stand?=',
        'X-Fairsend-Source: le salon Big Data Paris',
        'X-Fairsend-Source-Date: 2026-09-30',
        'X-Fairsend-Language: en',
      ],
    });
    await send(['visitor@client.example'], raw);
    const { parsed, raw: bytes } = await sentTo('visitor@client.example');
    expect(parsed.text).toContain('Why you receive it: Vous avez visité notre stand');
    expect(parsed.text).toContain(
      'Your business contact details come from: le salon Big Data Paris, obtained on 30 September 2026.',
    );
    expect(bytes.toString('latin1')).not.toMatch(/^x-fairsend-/im);
  });

  it('adds List-Unsubscribe (https, then mailto) and one-click headers with a token only this recipient has', async () => {
    await send(
      ['bob@client.example', 'dave@client.example'],
      plainMessage({ extraHeaders: ['List-Unsubscribe: <https://crm.example/u/1>'] }),
    );
    const tokens = [];
    for (const address of ['bob@client.example', 'dave@client.example']) {
      const { parsed, raw } = await sentTo(address);
      const header = raw.toString('latin1').slice(0, raw.indexOf('\r\n\r\n'));
      expect(header.match(/^List-Unsubscribe:/gim)).toHaveLength(1);
      expect(header).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n');
      const match = header.match(
        /^List-Unsubscribe: <https:\/\/unsubscribe\.acme\.example\/u\/([\w.-]+)>,\r\n <mailto:unsubscribe@acme\.example\?subject=unsubscribe%20([\w.-]+)>/m,
      );
      expect(match?.[1]).toBe(match?.[2]);
      const check = verifyToken(stack.config.tokens, match![1]!);
      expect(check).toMatchObject({ ok: true, request: { controller: 'acme', recipient: address } });
      expect(parsed.text).toContain(`https://unsubscribe.acme.example/u/${match![1]}`);
      tokens.push(match![1]);
    }
    expect(tokens[0]).not.toBe(tokens[1]);
  });

  it('puts the notice in exactly one of two messages sent at once to a new contact', async () => {
    const address = 'race@client.example';
    await Promise.all([
      send([address], plainMessage({ subject: 'A' })),
      send([address], plainMessage({ subject: 'B' })),
    ]);
    const copies = await Promise.all(stack.ses!.messages.map((m) => simpleParser(m.raw)));
    expect(copies).toHaveLength(2);
    expect(copies.filter((c) => c.text?.includes('proviennent de')).length).toBe(1);
  });

  it('leaves the notice out when another message made the first contact between RCPT and the end of DATA', async () => {
    // RCPT reads the contact record (none yet), and the copy is rendered ahead as a first contact;
    // the claim at the end of DATA then fails, and the copy is rendered again, without the notice.
    const address = 'meanwhile@client.example';
    const smtp = await RawSmtp.connect(stack.smtp.starttls.port);
    await smtp.login();
    expect(await smtp.command('MAIL FROM:<alice@acme.example>')).toMatch(/^250/);
    expect(await smtp.command(`RCPT TO:<${address}>`)).toMatch(/^250/);
    await stack.stores.contacts.recordFirstContact('acme', address, new Date().toISOString());
    expect(await smtp.command('DATA')).toMatch(/^354/);
    expect(await smtp.command(`${plainMessage({ to: address, subject: 'Entre-temps' })}\r\n.`)).toMatch(
      /^250 .*1 of 1 copies sent/,
    );
    smtp.close();
    const copy = await sentTo(address);
    expect(copy.parsed.text).toContain('Pourquoi ce message');
    expect(copy.parsed.text).not.toContain('proviennent de');
  });
});

describe('policy before sending', () => {
  it('blocks a consumer mailbox under legitimate interest, sends nothing and logs why', async () => {
    const error = await send(['bob@client.example', 'someone@gmail.com'], plainMessage({ subject: 'Perso' })).catch(
      (e: unknown) => e,
    );
    expect(smtpErrorOf(error).response).toBe(
      '550 5.7.1 policy refused 1 of 2 recipient(s), nothing was sent: <someone@gmail.com>: gmail.com is a consumer mailbox and no record says this person is a professional; B2C prospecting needs consent',
    );
    expect(stack.ses!.requests).toBe(0);
    const entry = (await stack.stores.blockedSends.list('acme')).find((b) => b.recipient === 'someone@gmail.com');
    expect(entry).toMatchObject({
      outcome: 'blocked',
      rule: 'policy:consumer-mailbox',
      subject: 'Perso',
      purpose: 'acme-prospecting',
    });
  });

  it('sends to a consumer mailbox when a record says the person is a professional', async () => {
    await stack.stores.contacts.save({
      controller: 'acme',
      address: 'freelance@gmail.com',
      professional: true,
      profession: 'consultant',
    });
    const info = await send(['freelance@gmail.com'], plainMessage());
    expect(info.response).toMatch(/^250 /);
  });

  it('needs recorded consent for a consent-based purpose', async () => {
    const raw = plainMessage({ extraHeaders: ['X-Fairsend-Purpose: acme-newsletter'] });
    const error = await send(['reader@client.example'], raw).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toMatch(
      /^550 5\.7\.1 policy refused 1 of 1 .*purpose acme-newsletter is consent-based and no consent is recorded/,
    );
    await stack.stores.contacts.save({
      controller: 'acme',
      address: 'reader@client.example',
      consent: { at: '2026-10-01T09:00:00Z', how: 'newsletter form on acme.example' },
    });
    expect((await send(['reader@client.example'], raw)).response).toMatch(/^250 /);
    expect(stack.ses!.messages[0]!.tags.purpose).toBe('acme-newsletter');
  });

  it('flags, but sends, a recipient whose recorded profession the purpose does not target', async () => {
    await stack.stores.contacts.save({
      controller: 'acme',
      address: 'chef@client.example',
      profession: 'Chef de cuisine',
      source: 'annuaire',
    });
    const info = await send(['chef@client.example'], plainMessage({ extraHeaders: ['X-Fairsend-Purpose: acme-cto'] }));
    expect(info.response).toMatch(/^250 /);
    const entry = (await stack.stores.blockedSends.list('acme')).find((b) => b.recipient === 'chef@client.example');
    expect(entry).toMatchObject({ outcome: 'flagged', rule: 'policy:profession-mismatch' });
  });

  it('blocks a first contact whose data source nobody knows', async () => {
    const error = await send(
      ['unknown@client.example'],
      plainMessage({ extraHeaders: ['X-Fairsend-Purpose: acme-cto'] }),
    ).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toMatch(
      /<unknown@client\.example>: first contact needs the origin of the data/,
    );
  });

  it('refuses an undeclared purpose and malformed directives', async () => {
    const unknown = await send(
      ['bob@client.example'],
      plainMessage({ extraHeaders: ['X-Fairsend-Purpose: spam'] }),
    ).catch((e: unknown) => e);
    expect(smtpErrorOf(unknown).response).toBe('550 5.7.1 purpose "spam" is not declared for ACME Prospection SARL');
    const other = await send(
      ['bob@client.example'],
      plainMessage({ extraHeaders: ['X-Fairsend-Purpose: globex-outreach'] }),
    ).catch((e: unknown) => e);
    expect(smtpErrorOf(other).response).toBe(
      '550 5.7.1 purpose "globex-outreach" is not declared for ACME Prospection SARL',
    );
    const lang = await send(['bob@client.example'], plainMessage({ extraHeaders: ['X-Fairsend-Language: es'] })).catch(
      (e: unknown) => e,
    );
    expect(smtpErrorOf(lang).response).toBe('554 5.6.0 message refused: X-Fairsend-Language must be one of fr, en, de');
    expect(stack.ses!.requests).toBe(0);
  });
});

describe('the copies, rendered while the end of DATA’s read is in flight', () => {
  it('renders each copy once, before that read is back, with what RCPT read', async () => {
    // The relay's own stores and pipeline (the pipeline's copies are its private `copyFor`).
    const relay = stack.relay as unknown as {
      deps: { read: (requests: readonly { table: string }[]) => Promise<unknown> };
      pipeline: { copyFor: (...args: unknown[]) => unknown };
    };
    const { deps, pipeline } = relay;
    const read = deps.read;
    const copyFor = pipeline.copyFor;
    let rendered = 0;
    let renderedBeforeAnswer = -1;
    pipeline.copyFor = function (this: unknown, ...args: unknown[]) {
      rendered++;
      return copyFor.apply(this, args);
    };
    deps.read = async (requests) => {
      if (!requests.some((r) => r.table === stack.config.dynamodb.tables.sendLog)) return read(requests);
      // The end of DATA's read (the one with the send log in it) is answered once three copies
      // are rendered, or after 3 s: a relay rendering only after the read would wait so long here.
      const deadline = Date.now() + 3000;
      while (rendered < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      renderedBeforeAnswer = rendered;
      return read(requests);
    };
    try {
      const to = ['ahead1@client.example', 'ahead2@client.example', 'ahead3@client.example'];
      const info = await send(to, plainMessage({ to: to.join(', '), subject: 'En avance' }));
      expect(info.response).toMatch(/^250 .*3 of 3 copies sent/);
      expect(renderedBeforeAnswer).toBe(3);
      expect(rendered).toBe(3);
      for (const address of to) {
        const copy = await sentTo(address);
        expect(copy.parsed.text).toContain('proviennent de');
        expect(copy.raw.toString('latin1')).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
      }
    } finally {
      deps.read = read;
      pipeline.copyFor = copyFor;
    }
  });
  it('builds and signs their SES requests before that read is back, and sends none before it', async () => {
    const relay = stack.relay as unknown as {
      deps: { read: (requests: readonly { table: string }[]) => Promise<unknown> };
    };
    const { deps } = relay;
    const read = deps.read;
    let heldFrom = 0;
    let sentWhileHeld = -1;
    deps.read = async (requests) => {
      if (!requests.some((r) => r.table === stack.config.dynamodb.tables.sendLog)) return read(requests);
      // The end of DATA's read, answered 2.2 s late. A request signed once it is back carries an
      // x-amz-date (to the second) at least 1.2 s after the hold began; one signed ahead, less than 1 s.
      heldFrom = Date.now();
      await new Promise((r) => setTimeout(r, 2200));
      sentWhileHeld = stack.ses!.requests;
      return read(requests);
    };
    try {
      const to = ['signed1@client.example', 'signed2@client.example', 'signed3@client.example'];
      const info = await send(to, plainMessage({ to: to.join(', '), subject: 'Signé en avance' }));
      expect(info.response).toMatch(/^250 .*3 of 3 copies sent/);
      expect(sentWhileHeld).toBe(0);
      for (const address of to) {
        const message = stack.ses!.messages.find((m) => m.destination[0] === address)!;
        expect(Date.parse(message.signedAt!)).toBeLessThan(heldFrom + 1000);
      }
    } finally {
      deps.read = read;
    }
  });
});
