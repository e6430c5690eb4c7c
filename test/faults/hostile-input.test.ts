import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { testConfig } from '../helpers/config.ts';
import { RawSmtp } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

/** Hostile input at the default limits: a clear reply for each, and the relay still serves. */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({
    config: await testConfig((raw) => {
      raw.smtp.maxMessageBytes = 40 * 1024 * 1024;
      raw.smtp.maxRecipients = 100;
    }),
  });
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => stack.ses!.clear());

async function submit(body: string | Buffer, to = ['bob@client.example']): Promise<string> {
  const smtp = await RawSmtp.connect(stack.smtp.starttls.port);
  try {
    await smtp.login();
    await smtp.command('MAIL FROM:<alice@acme.example>');
    for (const rcpt of to) await smtp.command(`RCPT TO:<${rcpt}>`);
    expect(await smtp.command('DATA')).toMatch(/^354/);
    smtp.write(body);
    smtp.write('\r\n.\r\n');
    return await smtp.reply(60_000);
  } finally {
    smtp.close();
  }
}

const head = 'From: alice@acme.example\r\nTo: bob@client.example\r\nSubject: hostile\r\n';

async function stillServes(): Promise<void> {
  expect(await submit(`${head}\r\nstill here\r\n`)).toMatch(/^250 /);
}

describe('hostile input', () => {
  it('a 10 MB header block: 554, then the relay still serves', async () => {
    const big = `X-Big: ${'a'.repeat(900)}\r\n`.repeat(11_500);
    expect(await submit(`${head}${big}\r\nbody\r\n`)).toBe(
      '554 5.6.0 message refused: the header block is larger than 1048576 bytes',
    );
    await stillServes();
  });

  it('100,000 RCPT commands pipelined: 100 accepted, the rest 452, and the session survives', async () => {
    const smtp = await RawSmtp.connect(stack.smtp.starttls.port);
    await smtp.login();
    await smtp.command('MAIL FROM:<alice@acme.example>');
    const total = 100_000;
    let batch = '';
    for (let i = 0; i < total; i++) batch += `RCPT TO:<p${i}@client.example>\r\n`;
    smtp.write(batch);
    const counts = { ok: 0, tooMany: 0, other: 0 };
    for (let i = 0; i < total; i++) {
      const reply = await smtp.reply(60_000);
      if (reply.startsWith('250')) counts.ok++;
      else if (reply.startsWith('452 4.5.3')) counts.tooMany++;
      else counts.other++;
    }
    expect(counts).toEqual({ ok: 100, tooMany: total - 100, other: 0 });
    expect(await smtp.command('RSET')).toMatch(/^250/);
    smtp.close();
    await stillServes();
  }, 120_000);

  it('a 1 MB line: 554 naming the RFC 5322 limit', async () => {
    expect(await submit(`${head}\r\n${'x'.repeat(1024 * 1024)}\r\n`)).toMatch(
      /^554 5\.6\.0 message refused: a line of 1048576 octets exceeds RFC 5322's limit of 998/,
    );
    await stillServes();
  });

  it('invalid UTF-8 in headers: delivered without crashing, the bytes kept', async () => {
    const raw = Buffer.concat([
      Buffer.from('From: alice@acme.example\r\nTo: bob@client.example\r\nSubject: caf'),
      Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
      Buffer.from('\r\nX-Odd: \xe9t\xe9\r\n\r\nbody\r\n', 'latin1'),
    ]);
    expect(await submit(raw)).toMatch(/^250 /);
    expect(stack.ses!.messages[0]!.raw.includes(Buffer.from([0x63, 0x61, 0x66, 0xc3, 0x28, 0xff, 0xfe]))).toBe(true);
  });

  it('NUL bytes: 554', async () => {
    expect(await submit(`${head}\r\nbefore\0after\r\n`)).toMatch(
      /^554 5\.6\.0 message refused: the message contains NUL bytes/,
    );
  });

  it('multipart nested 100 deep: 554', async () => {
    let body = 'Content-Type: text/plain\r\n\r\ndeep\r\n';
    for (let i = 0; i < 100; i++)
      body = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${body}--b${i}--\r\n`;
    expect(await submit(`${head}MIME-Version: 1.0\r\n${body}`)).toBe(
      '554 5.6.0 message refused: MIME parts are nested deeper than 40 levels',
    );
    await stillServes();
  });

  it('a zip-bomb-like base64 part (30 MB of zeros, highly compressible): sent as it is, never inflated', async () => {
    const zeros = Buffer.alloc(22 * 1024 * 1024)
      .toString('base64')
      .replace(/.{76}/g, '$&\r\n');
    const raw =
      `${head}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="z"\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n` +
      `--z\r\nContent-Type: application/zip; name="bomb.zip"\r\nContent-Transfer-Encoding: base64\r\n\r\n${zeros}\r\n--z--\r\n`;
    expect(await submit(raw)).toMatch(/^250 /);
    expect(stack.ses!.messages[0]!.raw.length).toBeGreaterThan(raw.length);
  }, 60_000);
});
