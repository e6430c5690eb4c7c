import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { startLocalStack } from '../../infra/local/stack.ts';
import { silentLogger } from '../../shared/log.ts';
import { testConfig } from '../helpers/config.ts';
import { plainMessage } from '../helpers/messages.ts';
import { RawSmtp, sendWithNodemailer, smtpErrorOf } from '../helpers/smtp.ts';
import { startTestStack, testCertificate } from '../helpers/stack.ts';

let stack: LocalStack;

async function oppose(controller: string, subject: string) {
  const now = new Date().toISOString();
  await stack.stores.oppositions.add({
    controller,
    subject,
    origin: 'manual',
    requestedAt: now,
    effectiveAt: now,
    evidence: { by: 'test' },
  });
}

beforeAll(async () => {
  stack = await startTestStack();
  await oppose('acme', 'carol@client.example');
  await oppose('acme', '@competitor.example');
  await oppose('acme', 'jürgen@xn--bcher-kva.example');
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => {
  stack.ses!.clear();
});

describe('opposition list at RCPT', () => {
  it('rejects an opposed recipient at RCPT with 550 5.7.1, logs it, and delivers the others byte for byte', async () => {
    const raw = plainMessage({
      subject: 'Offre',
      to: 'bob@client.example, carol@client.example, dave@client.example',
    });
    const info = await sendWithNodemailer(stack, {
      from: 'alice@acme.example',
      to: ['bob@client.example', 'carol@client.example', 'dave@client.example'],
      raw,
    });
    expect(info.rejected).toEqual(['carol@client.example']);
    expect(info.rejectedErrors?.[0]?.response).toBe(
      '550 5.7.1 <carol@client.example>: recipient has objected to messages from ACME Prospection SARL',
    );
    expect(info.accepted).toEqual(['bob@client.example', 'dave@client.example']);

    const sent = stack.ses!.messages;
    expect(sent.map((m) => m.destination)).toEqual(
      expect.arrayContaining([['bob@client.example'], ['dave@client.example']]),
    );
    expect(sent).toHaveLength(2);
    const originalHeaders = raw.slice(0, raw.indexOf('\r\n\r\n') + 4);
    for (const message of sent) {
      // The client's header block, byte for byte, after Fairsend's two List-Unsubscribe headers.
      const text = message.raw.toString('utf8');
      const afterListHeaders = text.slice(
        text.indexOf('List-Unsubscribe=One-Click\r\n') + 'List-Unsubscribe=One-Click\r\n'.length,
      );
      expect(
        afterListHeaders.startsWith(
          originalHeaders.replace('Content-Transfer-Encoding: 8bit', 'Content-Transfer-Encoding: quoted-printable'),
        ),
      ).toBe(true);
      const parsed = await simpleParser(message.raw);
      expect(parsed.text).toMatch(/^Bonjour,\nceci est un test\.\n\n_+\nMessage envoyé par ACME Prospection SARL/);
      expect(message.tags).toMatchObject({ controller: 'acme', purpose: 'acme-prospecting' });
      expect(message.configurationSet).toBe('fairsend-test');
    }

    const blocked = await stack.stores.blockedSends.list('acme');
    const entry = blocked.find((b) => b.recipient === 'carol@client.example');
    expect(entry).toMatchObject({
      user: 'alice',
      mailFrom: 'alice@acme.example',
      rule: 'opposition:address',
      reply: '550 5.7.1 <carol@client.example>: recipient has objected to messages from ACME Prospection SARL',
    });
    // Subject and Message-ID are added once DATA has shown them.
    await expect
      .poll(async () => (await stack.stores.blockedSends.list('acme')).find((b) => b.id === entry!.id)?.subject)
      .toBe('Offre');
  });

  it('matches addresses case-insensitively', async () => {
    const error = await sendWithNodemailer(stack, {
      from: 'alice@acme.example',
      to: ['Carol@CLIENT.example'],
      raw: plainMessage(),
    }).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toMatch(/^550 5\.7\.1 <Carol@client\.example>: recipient has objected/i);
  });

  it('blocks a whole domain with an @domain entry', async () => {
    const error = await sendWithNodemailer(stack, {
      from: 'alice@acme.example',
      to: ['anyone@competitor.example'],
      raw: plainMessage(),
    }).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toMatch(
      /^550 5\.7\.1 <anyone@competitor\.example>: the domain competitor\.example has objected to messages from/,
    );
    const blocked = await stack.stores.blockedSends.list('acme');
    expect(blocked.find((b) => b.recipient === 'anyone@competitor.example')?.rule).toBe('opposition:domain');
    expect(stack.ses!.requests).toBe(0);
  });

  it('treats an IDN domain and its punycode form as one entry', async () => {
    const error = await sendWithNodemailer(stack, {
      from: 'alice@acme.example',
      to: ['Jürgen@Bücher.example'],
      raw: plainMessage(),
    }).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toMatch(/^550 5\.7\.1 .*recipient has objected/);
  });

  it("keeps one company's oppositions away from another's sends", async () => {
    const info = await sendWithNodemailer(stack, {
      user: 'gunter',
      from: 'gunter@globex.example',
      to: ['carol@client.example'],
      raw: plainMessage({ from: 'gunter@globex.example' }),
    });
    expect(info.accepted).toEqual(['carol@client.example']);
    expect(stack.ses!.messages).toHaveLength(1);
  });

  it('never reaches DATA when every recipient is refused', async () => {
    const smtp = await RawSmtp.connect(stack.smtp.starttls.port);
    await smtp.login();
    expect(await smtp.command('MAIL FROM:<alice@acme.example>')).toMatch(/^250/);
    expect(await smtp.command('RCPT TO:<carol@client.example>')).toMatch(/^550 5\.7\.1/);
    expect(await smtp.command('DATA')).toMatch(/^503 /);
    smtp.close();
    expect(stack.ses!.requests).toBe(0);
  });
});

describe('fail closed', () => {
  it('answers 451 4.3.0 at RCPT and sends nothing when DynamoDB is down', async () => {
    const config = await testConfig((raw) => {
      // A port nothing listens on: every DynamoDB call fails.
      raw.dynamodb.endpoint = 'http://127.0.0.1:9';
    });
    const down = await startLocalStack({
      config,
      tls: await testCertificate(),
      dynamodb: 'external',
      log: silentLogger,
    });
    try {
      const error = await sendWithNodemailer(down, {
        from: 'alice@acme.example',
        to: ['bob@client.example'],
        raw: plainMessage(),
      }).catch((e: unknown) => e);
      expect(smtpErrorOf(error).response).toBe('451 4.3.0 opposition list unavailable, try again later');
      expect(down.ses!.requests).toBe(0);
    } finally {
      await down.stop();
    }
  });
});
