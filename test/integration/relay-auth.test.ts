import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { PASSWORD } from '../helpers/config.ts';
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

describe('authentication: no open relay', () => {
  it('refuses MAIL FROM before AUTH with 530 and sends nothing', async () => {
    const smtp = await RawSmtp.connect(stack.smtp.starttls.port);
    await smtp.command('EHLO client.example');
    await smtp.startTls();
    await smtp.command('EHLO client.example');
    expect(await smtp.command('MAIL FROM:<alice@acme.example>')).toMatch(/^530 5\.7\.0 Authentication required/);
    expect(await smtp.command('RCPT TO:<bob@client.example>')).toMatch(/^5\d\d /);
    smtp.close();
    expect(stack.ses!.requests).toBe(0);
  });

  it('refuses plain-text AUTH before STARTTLS', async () => {
    const smtp = await RawSmtp.connect(stack.smtp.starttls.port);
    await smtp.command('EHLO client.example');
    const reply = await smtp.command(
      `AUTH PLAIN ${Buffer.from('\0alice\0correct horse battery staple').toString('base64')}`,
    );
    expect(reply).toMatch(/^538 /);
    expect(await smtp.command('MAIL FROM:<alice@acme.example>')).toMatch(/^530 /);
    smtp.close();
  });

  it('refuses a wrong password with 535 5.7.8', async () => {
    const error = await sendWithNodemailer(stack, {
      pass: 'wrong password',
      from: 'alice@acme.example',
      to: ['bob@client.example'],
      raw: plainMessage(),
    }).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toMatch(/^535 5\.7\.8 /);
  });

  it('refuses an unknown user the same way as a wrong password', async () => {
    const error = await sendWithNodemailer(stack, {
      user: 'mallory',
      from: 'alice@acme.example',
      to: ['bob@client.example'],
      raw: plainMessage(),
    }).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toMatch(/^535 5\.7\.8 Authentication credentials invalid/);
  });

  it('accepts AUTH LOGIN after STARTTLS, prompting for user name and password (RFC 4954 + draft-murchison-sasl-login)', async () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const smtp = await RawSmtp.connect(stack.smtp.starttls.port);
    try {
      await smtp.command('EHLO client.example');
      await smtp.startTls();
      expect(await smtp.command('EHLO client.example')).toMatch(/AUTH PLAIN LOGIN/);
      expect(await smtp.command('AUTH LOGIN')).toBe(`334 ${b64('Username:')}`);
      expect(await smtp.command(b64('alice'))).toBe(`334 ${b64('Password:')}`);
      expect(await smtp.command(b64('not the password'))).toMatch(/^535 5\.7\.8 /);
      expect(await smtp.command('AUTH LOGIN')).toMatch(/^334 /);
      await smtp.command(b64('alice'));
      expect(await smtp.command(b64(PASSWORD))).toMatch(/^235 /);
      expect(await smtp.command('MAIL FROM:<alice@acme.example>')).toMatch(/^250 /);
    } finally {
      smtp.close();
    }
  });

  it('accepts AUTH PLAIN over implicit TLS', async () => {
    const info = await sendWithNodemailer(stack, {
      implicitTls: true,
      from: 'alice@acme.example',
      to: ['bob@client.example'],
      raw: plainMessage(),
    });
    expect(info.response).toMatch(/^250 2\.0\.0 /);
  });
});

describe('sender authorisation', () => {
  it("refuses an envelope sender outside the user's allowed addresses with 550 5.7.1", async () => {
    const error = await sendWithNodemailer(stack, {
      from: 'alice@globex.example',
      to: ['bob@client.example'],
      raw: plainMessage({ from: 'alice@globex.example' }),
    }).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toBe(
      '550 5.7.1 <alice@globex.example>: sender address not allowed for user alice',
    );
  });

  it('refuses a header From the user may not use, even with an allowed envelope sender', async () => {
    const before = stack.ses!.requests;
    const error = await sendWithNodemailer(stack, {
      from: 'alice@acme.example',
      to: ['bob@client.example'],
      raw: plainMessage({ from: 'CEO <ceo@bank.example>' }),
    }).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toBe(
      '550 5.7.1 header From/Sender <ceo@bank.example> not allowed for user alice',
    );
    expect(stack.ses!.requests).toBe(before);
  });

  it('limits a user with one allowed address to that address', async () => {
    const error = await sendWithNodemailer(stack, {
      user: 'gunter',
      from: 'other@globex.example',
      to: ['bob@client.example'],
      raw: plainMessage({ from: 'other@globex.example' }),
    }).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toMatch(/^550 5\.7\.1 <other@globex\.example>: sender address not allowed/);
  });
});
