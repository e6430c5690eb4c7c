import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { parseMailboxList } from '../../shared/mailbox-list.ts';
import { plainMessage } from '../helpers/messages.ts';
import { sendWithNodemailer, smtpErrorOf } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

/** The header senders are read strictly and every one of them is checked. */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

function send(from: string, extraHeaders: string[] = [], to = 'bob@client.example') {
  return sendWithNodemailer(stack, {
    from: 'alice@acme.example',
    to: [to],
    raw: plainMessage({ from, extraHeaders }),
  }).then(
    (info) => info.response,
    (err: unknown) => smtpErrorOf(err).response ?? String(err),
  );
}

describe('From and Sender', () => {
  it('refuses a From that other parsers would read a second mailbox out of', async () => {
    expect(await send('<alice@acme.example> evil@other.example')).toMatch(
      /^554 5\.6\.0 message refused: the From header is not a valid list of mailboxes/,
    );
  });

  it('refuses a repeated Sender header', async () => {
    expect(await send('alice@acme.example', ['Sender: alice@acme.example', 'Sender: boss@globex.example'])).toMatch(
      /^554 5\.6\.0 message refused: the message has more than one Sender header/,
    );
  });

  it('checks every author of a From with several mailboxes', async () => {
    expect(await send('alice@acme.example, boss@globex.example', ['Sender: alice@acme.example'])).toMatch(
      /^550 5\.7\.1 header From\/Sender <boss@globex\.example> not allowed for user alice/,
    );
  });

  it('sends, and flags for review, a display name that is an address at another domain', async () => {
    expect(await send('"ceo@bank.example" <alice@acme.example>', [], 'flagme@client.example')).toMatch(/^250 /);
    const flagged = (await stack.stores.blockedSends.list('acme')).find((b) => b.recipient === 'flagme@client.example');
    expect(flagged).toMatchObject({ outcome: 'flagged', rule: 'policy:display-name-address' });
  });
});

describe('the strict mailbox-list reader', () => {
  it.each([
    ['alice@acme.example', ['alice@acme.example']],
    ['Alice <alice@acme.example>', ['alice@acme.example']],
    ['"Doe, Alice" <alice@acme.example>, bob@acme.example', ['alice@acme.example', 'bob@acme.example']],
    ['=?utf-8?q?Jos=C3=A9?= <jose@acme.example> (comment)', ['jose@acme.example']],
  ])('reads %j', (value, addresses) => {
    const read = parseMailboxList(value);
    expect(read.ok && read.mailboxes.map((m) => m.address.address)).toEqual(addresses);
  });

  it.each([
    '<alice@acme.example> evil@other.example',
    'alice@acme.example evil@other.example',
    'undisclosed-recipients:;',
    '"unterminated <alice@acme.example>',
    'Alice <alice@acme.example',
    '',
    'alice@acme.example,,bob@acme.example',
  ])('refuses %j', (value) => {
    expect(parseMailboxList(value).ok).toBe(false);
  });
});
