import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { SesV2Sender } from '../../proxy/ses-sender.ts';
import {
  ONE_WRITE_BYTES,
  SIGNED_REQUEST_TTL_MS,
  STREAMED_USER_AGENT,
  signSendEmail,
  TURN_BYTES,
} from '../../proxy/ses-stream.ts';
import { createSigner } from '../../shared/aws/sigv4.ts';
import { testConfig } from '../helpers/config.ts';
import { RawSmtp, sendWithNodemailer, smtpErrorOf } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

/** Large copies are streamed to SES (signed with SigV4 over the streamed body), not built by the SDK. */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({
    config: await testConfig((raw) => {
      raw.ses.streamAboveBytes = 100 * 1024;
      raw.smtp.maxMessageBytes = 10 * 1024 * 1024;
    }),
  });
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => {
  stack.ses!.clear();
  stack.ses!.clearFaults();
});

const attachment = Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 7919) % 251));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function bigMessage(): Promise<Buffer> {
  return new MailComposer({
    from: 'alice@acme.example',
    to: 'bob@client.example',
    subject: 'Catalogue',
    text: 'Notre catalogue est joint.',
    html: '<p>Notre catalogue est joint.</p>',
    attachments: [{ filename: 'catalogue.bin', content: attachment }],
  })
    .compile()
    .build();
}

describe('large messages held once', () => {
  // Past MessageBuffer.JOIN_LIMIT a message is written into one growable block, then moved into a
  // fixed Buffer of its size: the bytes must come out as they went in, whatever SIZE said.
  it.each([
    ['no SIZE', null],
    ['SIZE too small', 100_000],
    ['SIZE exact', 0],
  ])('delivers a 4 MB message byte for byte (%s)', async (label, declared) => {
    const raw = (await bigMessage()).toString('latin1').replace('Subject: Catalogue', `Subject: Catalogue ${label}`);
    const smtp = await RawSmtp.connect(stack.smtp.starttls.port);
    await smtp.login();
    const size = declared === null ? '' : ` SIZE=${declared || raw.length}`;
    expect(await smtp.command(`MAIL FROM:<alice@acme.example>${size}`)).toMatch(/^250/);
    expect(await smtp.command('RCPT TO:<bob@client.example>')).toMatch(/^250/);
    expect(await smtp.command('DATA')).toMatch(/^354/);
    smtp.write(`${raw.replace(/^\./gm, '..')}\r\n.\r\n`);
    expect(await smtp.reply(30_000)).toMatch(/^250 /);
    smtp.close();
    const parsed = await simpleParser(stack.ses!.messages[0]!.raw);
    expect(parsed.subject).toBe(`Catalogue ${label}`);
    expect(sha(parsed.attachments[0]!.content)).toBe(sha(attachment));
  });
});

describe('the DATA budget while a large message is delivered', () => {
  it('holds the message once: the step of moving it out of its growable block is given back', async () => {
    const raw = (await bigMessage()).toString('latin1').replace('Subject: Catalogue', 'Subject: Catalogue budget');
    const budget = (stack.relay as unknown as { dataBudget: { inUse: number } }).dataBudget;
    stack.ses!.latencyMs = 300;
    try {
      const smtp = await RawSmtp.connect(stack.smtp.starttls.port);
      await smtp.login();
      expect(await smtp.command('MAIL FROM:<alice@acme.example>')).toMatch(/^250/);
      expect(await smtp.command('RCPT TO:<bob@client.example>')).toMatch(/^250/);
      expect(await smtp.command('DATA')).toMatch(/^354/);
      smtp.write(`${raw.replace(/^\./gm, '..')}\r\n.\r\n`);
      let answered = false;
      const reply = smtp.reply(30_000).finally(() => {
        answered = true;
      });
      // Sampled until the 250, through the 300 ms SES takes: the message is held for its copies.
      let held = 0;
      while (!answered) {
        held = Math.max(held, budget.inUse);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(await reply).toMatch(/^250 /);
      smtp.close();
      expect(held).toBeGreaterThan(raw.length - 10);
      expect(held).toBeLessThanOrEqual(raw.length + 2);
      expect(budget.inUse).toBe(0);
    } finally {
      stack.ses!.latencyMs = 0;
    }
  });
});

describe('streamed SendEmail for large copies', () => {
  it('delivers each recipient a complete copy, attachment byte for byte, footer and headers in place', async () => {
    const raw = await bigMessage();
    const info = await sendWithNodemailer(stack, {
      from: 'alice@acme.example',
      to: ['bob@client.example', 'dave@client.example'],
      raw,
    });
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: 2 of 2 copies sent/);
    expect(stack.ses!.messages).toHaveLength(2);
    for (const message of stack.ses!.messages) {
      // The streamed request ran (the SDK's carries its own user-agent), and its signature held.
      expect(message.userAgent).toBe(STREAMED_USER_AGENT);
      expect(message.tags).toMatchObject({ controller: 'acme', purpose: 'acme-prospecting' });
      expect(message.configurationSet).toBe('fairsend-test');
      const parsed = await simpleParser(message.raw);
      expect(sha(parsed.attachments[0]!.content)).toBe(sha(attachment));
      expect(parsed.text).toContain('Message envoyé par ACME Prospection SARL');
      expect(message.raw.toString('latin1')).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
    }
  });

  it('streams small copies too by default (ses.streamAboveBytes 0): the leaner path for every copy', async () => {
    const small = await startTestStack({ config: await testConfig() });
    try {
      const info = await sendWithNodemailer(small, {
        from: 'alice@acme.example',
        to: ['bob@client.example'],
        raw: 'From: alice@acme.example\r\nTo: bob@client.example\r\nSubject: Petit message\r\n\r\nBonjour Bob.\r\n',
      });
      expect(info.response).toMatch(/^250 /);
      expect(small.ses!.messages).toHaveLength(1);
      expect(small.ses!.messages[0]!.userAgent).toBe(STREAMED_USER_AGENT);
      expect((await simpleParser(small.ses!.messages[0]!.raw)).text).toContain('Bonjour Bob.');
    } finally {
      await small.stop();
    }
  });

  it('classifies SES errors like the SDK does: throttling retried, a rejection reported', async () => {
    const raw = await bigMessage();
    stack.ses!.injectFault('throttle', 2);
    expect(
      (await sendWithNodemailer(stack, { from: 'alice@acme.example', to: ['erin@client.example'], raw })).response,
    ).toMatch(/^250 /);
    expect(stack.ses!.requests).toBe(3);
    stack.ses!.injectFault('reject', 1);
    const error = await sendWithNodemailer(stack, {
      from: 'alice@acme.example',
      to: ['frank@client.example'],
      raw,
    }).catch((e: unknown) => e);
    expect(smtpErrorOf(error).response).toMatch(
      /^554 5\.7\.1 SES refused the message \(0 of 1 copies sent\)\. <frank@client\.example>: MessageRejected: Email address is not verified/,
    );
  });

  it('sends copies whole up to ONE_WRITE_BYTES and in slices above, byte for byte, in several parts', async () => {
    const sender = new SesV2Sender({ ...stack.config.ses, streamAboveBytes: 0 });
    try {
      // Part sizes that are not multiples of 3: the base64 of the parts is not the parts' base64s joined.
      for (const size of [ONE_WRITE_BYTES - 1, ONE_WRITE_BYTES + 2]) {
        stack.ses!.clear();
        const body = Buffer.from(Array.from({ length: size }, (_, i) => 0x41 + (i % 26)));
        const parts = [Buffer.from('Subject: taille\r\n\r\n'), body.subarray(0, 1001), body.subarray(1001)];
        await sender.send({
          recipient: 'bob@client.example',
          from: 'alice@acme.example',
          parts,
          tags: { controller: 'acme' },
        });
        expect(sha(stack.ses!.messages[0]!.raw)).toBe(sha(Buffer.concat(parts)));
      }
    } finally {
      sender.destroy();
    }
  });

  it('hashes a large copy in turns: the other sessions are not held while it is signed', async () => {
    const signer = createSigner({
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      region: 'eu-west-3',
      service: 'ses',
    });
    const copy = Buffer.alloc(6 * TURN_BYTES, 0x41);
    let turns = 0;
    let counting = true;
    const count = () => {
      if (!counting) return;
      turns++;
      setImmediate(count);
    };
    setImmediate(count);
    const signed = await signSendEmail({
      endpoint: 'http://127.0.0.1:9',
      signer,
      parts: [Buffer.from('Subject: gros\r\n\r\n'), copy],
      from: 'alice@acme.example',
      recipient: 'bob@client.example',
      tags: [],
    });
    counting = false;
    // The base64 body is 4/3 of the copy: a turn for every TURN_BYTES of it.
    expect(turns).toBeGreaterThanOrEqual(7);
    expect(signed.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('sends non-ASCII addresses as JSON escapes: the declared length is the bytes sent (it hung before)', async () => {
    const sender = new SesV2Sender({
      ...stack.config.ses,
      streamAboveBytes: 0,
      requestTimeoutMs: 2000,
      retryDeadlineMs: 2000,
    });
    try {
      const id = await sender.send({
        recipient: 'josé@client.example',
        from: 'Zoë <zoë@acme.example>',
        parts: [Buffer.from('Subject: accents\r\n\r\nBonjour.\r\n')],
        tags: { controller: 'acme' },
      });
      expect(id).toBeTruthy();
      expect(stack.ses!.messages[0]).toMatchObject({
        from: 'Zoë <zoë@acme.example>',
        destination: ['josé@client.example'],
      });
    } finally {
      sender.destroy();
    }
  });

  describe('a request prepared ahead (the copies rendered while the end of DATA’s read is in flight)', () => {
    const copy = (recipient: string) => ({
      recipient,
      from: 'alice@acme.example',
      parts: [Buffer.from(`Subject: prepared\r\nTo: ${recipient}\r\n\r\nBonjour.\r\n`)],
      tags: { controller: 'acme' },
    });
    const signedAt = () => Date.parse(stack.ses!.messages[0]!.signedAt!);

    it('is signed when prepared, sent only by send, and then as prepared', async () => {
      const sender = new SesV2Sender({ ...stack.config.ses, streamAboveBytes: 0 });
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        vi.setSystemTime(Date.parse('2026-11-29T10:00:00Z'));
        const first = copy('prepared@client.example');
        const prepared = sender.prepare(first)!;
        expect(prepared).toBeDefined();
        await prepared.request;
        expect(stack.ses!.requests).toBe(0);
        // Sent 30 s later: the signature made when prepared is still fresh and is the one sent.
        vi.setSystemTime(Date.parse('2026-11-29T10:00:30Z'));
        await sender.send({ ...first, prepared });
        expect(stack.ses!.requests).toBe(1);
        expect(signedAt()).toBe(Date.parse('2026-11-29T10:00:00Z'));
      } finally {
        vi.useRealTimers();
        sender.destroy();
      }
    });

    it('is signed again when older than SIGNED_REQUEST_TTL_MS, and never used for another copy', async () => {
      const sender = new SesV2Sender({ ...stack.config.ses, streamAboveBytes: 0 });
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        vi.setSystemTime(Date.parse('2026-11-29T10:00:00Z'));
        const stale = copy('stale@client.example');
        const prepared = sender.prepare(stale)!;
        await prepared.request;
        vi.setSystemTime(Date.parse('2026-11-29T10:00:00Z') + SIGNED_REQUEST_TTL_MS + 1000);
        await sender.send({ ...stale, prepared });
        expect(signedAt()).toBe(Date.parse('2026-11-29T10:01:01Z'));

        // Prepared for one copy, handed with another: the other copy is what is signed and sent.
        stack.ses!.clear();
        vi.setSystemTime(Date.parse('2026-11-29T11:00:00Z'));
        const other = copy('other@client.example');
        const wrong = sender.prepare(copy('prepared-for@client.example'))!;
        await sender.send({ ...other, prepared: wrong });
        expect(stack.ses!.messages.map((m) => m.destination)).toEqual([['other@client.example']]);
        expect(stack.ses!.messages[0]!.raw.toString()).toContain('To: other@client.example');
      } finally {
        vi.useRealTimers();
        sender.destroy();
      }
    });

    it('is not made for copies the SDK sends or above ONE_WRITE_BYTES (they would be hashed twice)', () => {
      const sdk = new SesV2Sender({ ...stack.config.ses, streamAboveBytes: 1024 });
      const streamed = new SesV2Sender({ ...stack.config.ses, streamAboveBytes: 0 });
      try {
        expect(sdk.prepare(copy('small@client.example'))).toBeUndefined();
        const big = { ...copy('big@client.example'), parts: [Buffer.alloc(ONE_WRITE_BYTES + 1, 0x41)] };
        expect(streamed.prepare(big)).toBeUndefined();
        expect(streamed.prepare(copy('small@client.example'))).toBeDefined();
      } finally {
        sdk.destroy();
        streamed.destroy();
      }
    });
  });
});
