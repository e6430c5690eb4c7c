import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { plainMessage } from '../helpers/messages.ts';
import { sendWithNodemailer } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

/** Every refusal is in the blocked-send log, where the admin reviews it, with the subject as people read it. */
let stack: LocalStack;
const log = memoryLogger();
beforeAll(async () => {
  stack = await startTestStack({ log });
});
afterAll(async () => {
  await stack?.stop();
});

async function attempt(options: { envelopeFrom?: string; to: string; extraHeaders?: string[]; subject?: string }) {
  return sendWithNodemailer(stack, {
    from: options.envelopeFrom ?? 'alice@acme.example',
    to: [options.to],
    raw: plainMessage({ to: options.to, subject: options.subject, extraHeaders: options.extraHeaders }),
  }).catch((e: unknown) => e);
}

async function logged(recipient: string) {
  return (await stack.stores.blockedSends.list('acme', { limit: 500 })).filter((b) => b.recipient === recipient);
}

describe('the blocked-send log holds every refusal', () => {
  it('a sender outside allowedFrom, recorded at MAIL FROM (no recipient yet)', async () => {
    await attempt({ envelopeFrom: 'ceo@globex.example', to: 'nobody-yet@client.example' });
    const entry = (await stack.stores.blockedSends.list('acme', { limit: 500 })).find(
      (b) => b.rule === 'sender:not-allowed' && b.mailFrom === 'ceo@globex.example',
    );
    expect(entry).toMatchObject({ recipient: '', user: 'alice', reply: expect.stringMatching(/^550 5\.7\.1 /) });
  });

  it('an undeclared purpose and a bad directive, per recipient, with the decoded subject', async () => {
    await attempt({
      to: 'purpose@client.example',
      extraHeaders: ['X-Fairsend-Purpose: nope'],
      subject: '=?utf-8?q?Offre_sp=C3=A9ciale?=',
    });
    expect(await logged('purpose@client.example')).toMatchObject([
      {
        rule: 'purpose:undeclared',
        subject: 'Offre spéciale',
        reply: expect.stringMatching(/^550 5\.7\.1 purpose "nope"/),
      },
    ]);
    await attempt({ to: 'directive@client.example', extraHeaders: ['X-Fairsend-Language: xx'] });
    expect(await logged('directive@client.example')).toMatchObject([{ rule: 'directive:invalid' }]);
  });

  it('a malformed From', async () => {
    await sendWithNodemailer(stack, {
      from: 'alice@acme.example',
      to: ['malformed@client.example'],
      raw: plainMessage({ from: '<alice@acme.example> evil@other.example' }),
    }).catch(() => undefined);
    expect(await logged('malformed@client.example')).toMatchObject([{ rule: 'message:malformed' }]);
  });

  it('writes one `blocked-send` log line per refused or flagged recipient (the deployed stack counts them)', async () => {
    await stack.console.addOpposition({ name: 't', role: 'admin', via: 'cli' }, 'acme', 'metric@client.example', '');
    const before = log.events.filter((e) => e.event === 'blocked-send').length;
    await attempt({ to: 'metric@client.example' });
    await attempt({ to: 'metric@client.example' });
    const lines = log.events.filter((e) => e.event === 'blocked-send').slice(before);
    expect(lines.map((l) => l.fields)).toEqual([
      { controller: 'acme', rule: 'opposition:address', outcome: 'blocked' },
      { controller: 'acme', rule: 'opposition:address', outcome: 'blocked' },
    ]);
    expect(JSON.stringify(lines)).not.toContain('metric@client.example');
  });
});
