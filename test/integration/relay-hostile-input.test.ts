import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { testConfig } from '../helpers/config.ts';
import { plainMessage } from '../helpers/messages.ts';
import { RawSmtp, sendWithNodemailer, smtpErrorOf } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack({
    config: await testConfig((raw) => {
      raw.smtp.maxMessageBytes = 64 * 1024;
      raw.smtp.maxRecipients = 5;
    }),
  });
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => {
  stack.ses!.clear();
});

async function transaction(to: string[]): Promise<RawSmtp> {
  const smtp = await RawSmtp.connect(stack.smtp.starttls.port);
  await smtp.login();
  expect(await smtp.command('MAIL FROM:<alice@acme.example>')).toMatch(/^250/);
  for (const rcpt of to) expect(await smtp.command(`RCPT TO:<${rcpt}>`)).toMatch(/^250/);
  expect(await smtp.command('DATA')).toMatch(/^354/);
  return smtp;
}

describe('size and count limits', () => {
  it('refuses a message over the size limit with 552 5.3.4 and sends nothing', async () => {
    const body = `${'x'.repeat(76)}\r\n`.repeat(1000);
    const error = await sendWithNodemailer(stack, {
      from: 'alice@acme.example',
      to: ['bob@client.example'],
      raw: plainMessage({ body }),
    }).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toMatch(/^552 5\.3\.4 message exceeds the maximum size of 65536 bytes/);
    expect(stack.ses!.requests).toBe(0);
  });

  it('refuses recipients past the per-message limit with 452 4.5.3', async () => {
    const smtp = await RawSmtp.connect(stack.smtp.starttls.port);
    await smtp.login();
    await smtp.command('MAIL FROM:<alice@acme.example>');
    for (let i = 0; i < 5; i++) expect(await smtp.command(`RCPT TO:<p${i}@client.example>`)).toMatch(/^250/);
    expect(await smtp.command('RCPT TO:<p5@client.example>')).toBe(
      '452 4.5.3 too many recipients: at most 5 per message',
    );
    smtp.close();
  });

  it('refuses an invalid recipient address with 553 5.1.3', async () => {
    const smtp = await RawSmtp.connect(stack.smtp.starttls.port);
    await smtp.login();
    await smtp.command('MAIL FROM:<alice@acme.example>');
    expect(await smtp.command('RCPT TO:<bob@localhost>')).toBe(
      '553 5.1.3 <bob@localhost>: not a valid recipient address',
    );
    smtp.close();
  });
});

describe('line endings (SMTP smuggling)', () => {
  it('refuses a message hiding a second one behind <LF>.<LF>, and sends nothing', async () => {
    const smtp = await transaction(['bob@client.example']);
    smtp.write(
      'From: alice@acme.example\r\nTo: bob@client.example\r\nSubject: one\r\n\r\nfirst\r\n' +
        '\n.\n' +
        'MAIL FROM:<ceo@bank.example>\r\nRCPT TO:<victim@client.example>\r\nDATA\r\nFrom: ceo@bank.example\r\n\r\nforged\r\n' +
        '.\r\n',
    );
    expect(await smtp.reply()).toMatch(/^554 5\.6\.0 message refused: a "\." line next to a bare CR or LF/);
    // The session is still usable and nothing went to SES.
    expect(await smtp.command('NOOP')).toMatch(/^250/);
    smtp.close();
    expect(stack.ses!.requests).toBe(0);
  });

  it('refuses <CR><LF>.<LF> and <LF>.<CR><LF> as well', async () => {
    for (const trick of ['\r\n.\n', '\n.\r\n', '\r.\r']) {
      const smtp = await transaction(['bob@client.example']);
      smtp.write(`From: alice@acme.example\r\nSubject: x\r\n\r\nbody${trick}more\r\n.\r\n`);
      expect(await smtp.reply()).toMatch(/^554 5\.6\.0 /);
      smtp.close();
    }
    expect(stack.ses!.requests).toBe(0);
  });

  it('normalises other bare LF line endings to CRLF before sending', async () => {
    const smtp = await transaction(['bob@client.example']);
    smtp.write('From: alice@acme.example\nTo: bob@client.example\nSubject: lf\n\nline one\nline two\r\n.\r\n');
    expect(await smtp.reply()).toMatch(/^250 /);
    smtp.close();
    const sent = stack.ses!.messages[0]!.raw.toString();
    expect(sent).not.toMatch(/[^\r]\n|\r[^\n]/);
    expect(sent).toContain('\r\nFrom: alice@acme.example\r\nTo: bob@client.example\r\nSubject: lf\r\n');
    expect(sent).toContain('\r\n\r\nline one\r\nline two\r\n');
  });
});

describe('malformed messages', () => {
  it('refuses a message without a From header with 554 5.6.0', async () => {
    const smtp = await transaction(['bob@client.example']);
    smtp.write('To: bob@client.example\r\nSubject: x\r\n\r\nbody\r\n.\r\n');
    expect(await smtp.reply()).toBe('554 5.6.0 message refused: the message has no From header');
    smtp.close();
  });

  it('refuses a message with two From headers', async () => {
    const smtp = await transaction(['bob@client.example']);
    smtp.write('From: alice@acme.example\r\nFrom: ceo@bank.example\r\n\r\nbody\r\n.\r\n');
    expect(await smtp.reply()).toBe('554 5.6.0 message refused: the message has more than one From header');
    smtp.close();
  });

  it('refuses a body with no header block', async () => {
    const smtp = await transaction(['bob@client.example']);
    smtp.write('just some text\r\n.\r\n');
    expect(await smtp.reply()).toBe('554 5.6.0 message refused: the message does not start with a header field');
    smtp.close();
    expect(stack.ses!.requests).toBe(0);
  });
});

describe('declared message size (RFC 1870)', () => {
  it.each([
    ['exact', 0, 300],
    ['too small', -500, 300],
    ['larger', 5000, 300],
    ['none', null, 300],
  ])('delivers the same bytes whatever SIZE the client declared (%s)', async (label, delta, lines) => {
    // A subject of its own: the same bytes again would be an idempotent retry, not a new message.
    const text = Array.from({ length: lines }, (_, i) => `line ${i} of text\r\n`).join('');
    const body = `From: alice@acme.example\r\nTo: bob@client.example\r\nSubject: size ${label}\r\n\r\n${text}`;
    const smtp = await RawSmtp.connect(stack.smtp.starttls.port);
    await smtp.login();
    const size = delta === null ? '' : ` SIZE=${body.length + delta}`;
    expect(await smtp.command(`MAIL FROM:<alice@acme.example>${size}`)).toMatch(/^250/);
    expect(await smtp.command('RCPT TO:<bob@client.example>')).toMatch(/^250/);
    expect(await smtp.command('DATA')).toMatch(/^354/);
    smtp.write(`${body}\r\n.\r\n`);
    expect(await smtp.reply()).toMatch(/^250 /);
    smtp.close();
    const sent = stack.ses!.messages.at(-1)!.raw.toString();
    expect(sent).toContain(`Subject: size ${label}\r\n`);
    expect(sent).toContain(text);
  });
});
