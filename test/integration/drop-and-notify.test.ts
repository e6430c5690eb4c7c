import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { PASSWORD } from '../helpers/config.ts';
import { plainMessage } from '../helpers/messages.ts';
import { sendWithNodemailer } from '../helpers/smtp.ts';
import { startTestStack, testCertificate } from '../helpers/stack.ts';

/**
 * Desktop clients (msmtp, Thunderbird, Outlook) abort the whole message when one recipient is
 * refused. A user in drop-and-notify mode gets the others sent and a notice (RFC 3464) of who was
 * not sent and why.
 */
let stack: LocalStack;
const MSMTP = '/usr/bin/msmtp';
const msmtpAvailable = existsSync(MSMTP) || process.env.CI === 'true';

beforeAll(async () => {
  stack = await startTestStack();
  const now = new Date().toISOString();
  await stack.stores.oppositions.add({
    controller: 'acme',
    subject: 'carol@client.example',
    origin: 'one-click',
    requestedAt: now,
    effectiveAt: now,
    evidence: {},
  });
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => stack.ses!.clear());

async function noticeFor(to: string) {
  const copy = stack.ses!.messages.find((m) => m.destination[0] === to && m.tags.purpose === 'refusal-notice');
  return copy ? { copy, parsed: await simpleParser(copy.raw) } : undefined;
}

describe('drop-and-notify', () => {
  it.skipIf(!msmtpAvailable)(
    'msmtp sends to three with one opposed: two copies go out, the notice is in the outbox',
    async () => {
      const { certFile } = await testCertificate();
      const run = promisify(execFile)(
        MSMTP,
        [
          '--host=127.0.0.1',
          `--port=${stack.smtp.starttls.port}`,
          '--tls=on',
          '--tls-starttls=on',
          `--tls-trust-file=${certFile}`,
          '--tls-host-override=localhost',
          '--auth=plain',
          '--user=desk',
          `--passwordeval=echo '${PASSWORD}'`,
          '--from=alice@acme.example',
          'bob@client.example',
          'carol@client.example',
          'dave@client.example',
        ],
        { encoding: 'utf8' },
      );
      run.child.stdin!.end(
        plainMessage({ to: 'bob@client.example, carol@client.example, dave@client.example', subject: 'Offre' }),
      );
      await run;
      const prospecting = stack.ses!.messages.filter((m) => m.tags.purpose === 'acme-prospecting');
      expect(prospecting.map((m) => m.destination[0]).sort()).toEqual(['bob@client.example', 'dave@client.example']);
      const notice = await noticeFor('alice@acme.example');
      expect(notice).toBeDefined();
      expect(notice!.parsed.subject).toBe('Non envoyé à 1 destinataire(s) sur 3: Offre');
      expect(notice!.parsed.text).toContain('carol@client.example');
      expect(notice!.parsed.text).toContain('unsubscribed with their mailbox');
      const raw = notice!.copy.raw.toString('latin1');
      expect(raw).toMatch(/Content-Type: multipart\/report; report-type=delivery-status/);
      expect(raw).toMatch(/Final-Recipient: rfc822; carol@client\.example\r\nAction: failed\r\nStatus: 5\.7\.1/);
      expect(raw).toMatch(/^Auto-Submitted: auto-replied/m);
      expect(notice!.copy.from).toBe('mailer-daemon@acme.example');
    },
  );

  it('drops a policy-blocked recipient at DATA and sends to the others, where reject mode refuses all', async () => {
    const raw = plainMessage({ to: 'bob@client.example, someone@gmail.com' });
    const dropped = await sendWithNodemailer(stack, {
      user: 'desk',
      from: 'alice@acme.example',
      to: ['bob@client.example', 'someone@gmail.com'],
      raw,
    });
    expect(dropped.response).toMatch(
      /^250 2\.0\.0 Ok: 1 of 1 copies sent; 1 not sent, notice sent to <alice@acme\.example>/,
    );
    const notice = await noticeFor('alice@acme.example');
    expect(notice!.parsed.text).toContain('consumer mailbox');

    stack.ses!.clear();
    const refused = await sendWithNodemailer(stack, {
      user: 'alice',
      from: 'alice@acme.example',
      to: ['bob@client.example', 'someone@gmail.com'],
      raw: plainMessage({ to: 'bob@client.example, someone@gmail.com', subject: 'again' }),
    }).catch((e: { response?: string }) => e.response);
    expect(refused).toMatch(/^550 5\.7\.1 policy refused 1 of 2 recipient/);
    expect(stack.ses!.messages).toHaveLength(0);
  });
});
