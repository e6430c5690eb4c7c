import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { verifyToken } from '../../shared/unsubscribe-token.ts';
import { plainMessage } from '../helpers/messages.ts';
import { sendWithNodemailer } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

/**
 * Nothing a client writes can switch the mentions off: a body that already contains an
 * unsubscribe link of ours, or the HTML footer's marker, or a quoted Fairsend footer addressed
 * to someone else, still gets this recipient's own footer and token.
 */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => stack.ses!.clear());

const BASE = 'https://unsubscribe.acme.example/u/';

async function copyFor(raw: string | Buffer, to = 'bob@client.example') {
  const info = await sendWithNodemailer(stack, { from: 'alice@acme.example', to: [to], raw });
  expect(info.response).toMatch(/^250 /);
  const copy = stack.ses!.messages.find((m) => m.destination[0] === to)!;
  const parsed = await simpleParser(copy.raw);
  const tokens = (text: string) => [...text.matchAll(/\/u\/([a-z0-9]{1,16}\.[A-Za-z0-9_-]{40,})/g)].map((m) => m[1]!);
  const own = (text: string) =>
    tokens(text).filter((t) => {
      const check = verifyToken(stack.config.tokens, t);
      return check.ok && check.request.recipient === to;
    });
  return { parsed, own, tokens };
}

describe('the footer cannot be suppressed by the sender', () => {
  it('footers a text part that already contains an unsubscribe link of ours', async () => {
    const { parsed, own } = await copyFor(
      plainMessage({ body: `Bonjour,\r\nSe désinscrire : ${BASE}k1.${'A'.repeat(60)}\r\n` }),
    );
    expect(own(parsed.text ?? '')).toHaveLength(1);
    expect(parsed.text).toContain('Message envoyé par ACME Prospection SARL');
  });

  it('footers an HTML part that carries the footer marker', async () => {
    const raw = await new MailComposer({
      from: 'alice@acme.example',
      to: 'bob@client.example',
      subject: 'Marker',
      text: 'Bonjour',
      html: '<html><body><p>Bonjour</p><!-- fairsend-footer --></body></html>',
    })
      .compile()
      .build();
    const { parsed, own } = await copyFor(raw);
    expect(own(parsed.html || '')).toHaveLength(1);
    expect(parsed.html).toContain('Message envoyé par');
  });

  it("gives a reply quoting someone else's Fairsend mail its own footer; the quote stays as text", async () => {
    // First a real copy to carol, whose footer dave then quotes in a reply.
    const first = await copyFor(plainMessage({ to: 'carol@client.example' }), 'carol@client.example');
    const carolToken = first.tokens(first.parsed.text ?? '')[0]!;
    const quoted = (first.parsed.text ?? '')
      .split('\n')
      .map((line) => `> ${line}`)
      .join('\r\n');
    const { parsed, own, tokens } = await copyFor(
      plainMessage({ to: 'dave@client.example', body: `Je transmets.\r\n\r\n${quoted}\r\n` }),
      'dave@client.example',
    );
    expect(own(parsed.text ?? '')).toHaveLength(1);
    expect(tokens(parsed.text ?? '')).toContain(carolToken);
  });
});
