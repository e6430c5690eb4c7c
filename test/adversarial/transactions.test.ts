import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { testConfig } from '../helpers/config.ts';
import { plainMessage } from '../helpers/messages.ts';
import { RawSmtp } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

/**
 * An opposition holds until the last byte; a transaction and its DATA cannot be held open
 * forever; refused recipients cannot flood the review log; uploads count against one memory
 * budget.
 */
let stack: LocalStack;
const open: RawSmtp[] = [];
beforeAll(async () => {
  stack = await startTestStack({
    config: await testConfig((raw) => {
      raw.smtp.maxTransactionMs = 1500;
      raw.smtp.maxDataMs = 800;
      raw.smtp.maxRefusedRecipients = 10;
      raw.smtp.maxDataBytesInFlight = 2 * 1024 * 1024;
      raw.smtp.maxMessageBytes = 4 * 1024 * 1024;
    }),
  });
});
beforeEach(() => stack.ses!.clear());
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});
afterAll(async () => {
  await stack?.stop();
});

async function loggedIn(): Promise<RawSmtp> {
  const c = await RawSmtp.connect(stack.smtp.starttls.port);
  open.push(c);
  await c.login();
  return c;
}

async function oppose(subject: string, extra: { includeSubdomains?: boolean } = {}) {
  const now = new Date().toISOString();
  await stack.stores.oppositions.add({
    controller: 'acme',
    subject,
    origin: 'manual',
    requestedAt: now,
    effectiveAt: now,
    evidence: { note: 'test' },
    ...extra,
  });
}

describe('an opposition made between RCPT and the end of DATA', () => {
  it('is honoured: the message is refused, nothing is sent, the refusal is logged', async () => {
    const c = await loggedIn();
    expect(await c.command('MAIL FROM:<alice@acme.example>')).toMatch(/^250/);
    expect(await c.command('RCPT TO:<bob@client.example>')).toMatch(/^250/);
    expect(await c.command('RCPT TO:<late@client.example>')).toMatch(/^250/);
    await oppose('late@client.example');
    expect(await c.command('NOOP')).toMatch(/^250/);
    expect(await c.command('DATA')).toMatch(/^354/);
    const reply = await c.command(`${plainMessage({ subject: 'Too late' })}\r\n.`);
    expect(reply).toMatch(
      /^550 5\.7\.1 <late@client\.example>: recipient has objected to messages from ACME Prospection SARL \(since RCPT\); nothing was sent/,
    );
    expect(stack.ses!.messages).toHaveLength(0);
    const logged = (await stack.stores.blockedSends.list('acme')).find((b) => b.recipient === 'late@client.example');
    expect(logged).toMatchObject({ rule: 'opposition:address', subject: 'Too late' });
  });
});

describe('transaction and DATA deadlines', () => {
  it('closes a transaction kept open with NOOPs past smtp.maxTransactionMs', async () => {
    const c = await loggedIn();
    await c.command('MAIL FROM:<alice@acme.example>');
    await c.command('RCPT TO:<bob@client.example>');
    let last = '';
    for (let i = 0; i < 30 && !last.startsWith('421'); i++) {
      last = await c.command('NOOP');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(last).toMatch(/^421 4\.4\.2 the transaction took too long/);
    expect(await c.waitClosed()).toBe(true);
  });

  it('closes a DATA upload trickling past smtp.maxDataMs, and sends nothing', async () => {
    const c = await loggedIn();
    await c.command('MAIL FROM:<alice@acme.example>');
    await c.command('RCPT TO:<bob@client.example>');
    expect(await c.command('DATA')).toMatch(/^354/);
    c.write('From: alice@acme.example\r\nSubject: slow\r\n\r\n');
    const reply = c.reply(3000);
    const trickle = setInterval(() => c.write('x\r\n'), 100);
    try {
      expect(await reply).toMatch(/^421 4\.4\.2 the message took longer than 0\.8 s to upload/);
    } finally {
      clearInterval(trickle);
    }
    expect(stack.ses!.messages).toHaveLength(0);
  });
});

describe('refused recipients', () => {
  it('records one blocked send per recipient however often it is named, and closes past the cap', async () => {
    await oppose('flood@client.example');
    await oppose('flood2@client.example');
    const before = (await stack.stores.blockedSends.list('acme', { limit: 1000 })).length;
    const c = await loggedIn();
    await c.command('MAIL FROM:<alice@acme.example>');
    for (let i = 0; i < 6; i++) expect(await c.command('RCPT TO:<flood@client.example>')).toMatch(/^550 5\.7\.1/);
    for (let i = 0; i < 2; i++) expect(await c.command('RCPT TO:<flood2@client.example>')).toMatch(/^550 5\.7\.1/);
    const after = await stack.stores.blockedSends.list('acme', { limit: 1000 });
    expect(after.length - before).toBe(2);

    // Invalid recipients count too: the 9th and 10th refusals, then 421 and the connection closes.
    const replies: string[] = [];
    for (let i = 0; i < 4; i++) replies.push(await c.command(`RCPT TO:<nobody${i}@localhost>`));
    expect(replies.slice(0, 2).every((r) => r.startsWith('553 5.1.3'))).toBe(true);
    expect(replies[2]).toMatch(/^421 4\.7\.0 more than 10 refused recipients/);
    expect(await c.waitClosed()).toBe(true);
  });
});

describe('address variants reach the same mailbox', () => {
  it('refuses carol+tag@ when carol@ objected, and a subdomain when the domain did (unless the entry says otherwise)', async () => {
    await oppose('carol@client.example');
    await oppose('@opposed.example');
    await oppose('@exact.example', { includeSubdomains: false });
    const c = await loggedIn();
    await c.command('MAIL FROM:<alice@acme.example>');
    expect(await c.command('RCPT TO:<Carol+News@client.example>')).toMatch(/^550 5\.7\.1/);
    expect(await c.command('RCPT TO:<anyone@paris.opposed.example>')).toMatch(/^550 5\.7\.1/);
    expect(await c.command('RCPT TO:<anyone@exact.example>')).toMatch(/^550 5\.7\.1/);
    expect(await c.command('RCPT TO:<anyone@sub.exact.example>')).toMatch(/^250/);
  });

  it('matches a local part typed with a combining accent to the composed one (NFC)', async () => {
    await oppose('josé@client.example');
    const c = await loggedIn();
    await c.command('MAIL FROM:<alice@acme.example> SMTPUTF8');
    const reply = await c.command('RCPT TO:<jose\u0301@client.example>');
    expect(reply).toMatch(/^550 5\.7\.1/);
  });
});

describe('memory held by uploads', () => {
  it('refuses at MAIL FROM a declared SIZE the budget cannot hold now, with 452 4.3.1', async () => {
    const c = await loggedIn();
    expect(await c.command(`MAIL FROM:<alice@acme.example> SIZE=${3 * 1024 * 1024}`)).toMatch(/^452 4\.3\.1 /);
  });

  it('refuses with 452 4.3.1 an upload that takes the relay past its budget, and releases it', async () => {
    const big = `${plainMessage({ subject: 'big' })}${'y'.repeat(76)}\r\n`.repeat(1);
    const body = `${'z'.repeat(76)}\r\n`.repeat(Math.ceil((2.5 * 1024 * 1024) / 78));
    const c = await loggedIn();
    await c.command('MAIL FROM:<alice@acme.example>');
    await c.command('RCPT TO:<bob@client.example>');
    expect(await c.command('DATA')).toMatch(/^354/);
    expect(await c.command(`${big}${body}.`)).toMatch(/^452 4\.3\.1 /);
    // The budget was released: a small message goes through on the same connection.
    await c.command('MAIL FROM:<alice@acme.example>');
    await c.command('RCPT TO:<bob@client.example>');
    await c.command('DATA');
    expect(await c.command(`${plainMessage()}\r\n.`)).toMatch(/^250 /);
  });
});
