import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderFooter } from '../../shared/footer.ts';
import { buildTemplate, renderCopy, renderCopyParts } from '../../shared/mime/rewrite.ts';
import { corpus, type Shape } from '../corpus/shapes.ts';
import { testConfig } from '../helpers/config.ts';

const BASE = 'https://unsubscribe.acme.example/u/';
let shapes: Shape[];
let controller: Awaited<ReturnType<typeof testConfig>>['controllers'][string];

beforeAll(async () => {
  shapes = await corpus();
  controller = (await testConfig()).controllers.acme!;
});

function footerFor(token: string) {
  return renderFooter(controller, 'fr', {
    legalName: controller.legalName,
    postalAddress: controller.postalAddress,
    contactEmail: controller.contactEmail,
    privacyEmail: controller.privacyEmail!,
    reason: 'Votre fonction est liée à nos services.',
    firstContact: true,
    source: 'le Salon IT Lyon 2026',
    obtainedAt: '2026-03-14',
    unsubscribeUrl: `${BASE}${token}`,
  });
}

const hash = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const count = (text: string | false | undefined, needle: string) => (text ? text.split(needle).length - 1 : 0);
const squash = (text: string) => text.replace(/\s+/g, ' ').trim();

async function rewrite(shape: Shape, token = 'k2.TOKEN-FOR-BOB') {
  const built = await buildTemplate(shape.raw, { hostname: 'relay.acme.example' });
  if (!built.ok) throw new Error(`${shape.name}: ${built.reason}`);
  const headers = `List-Unsubscribe: <${BASE}${token}>,\r\n <mailto:unsubscribe@acme.example?subject=unsubscribe%20${token}>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n`;
  return { template: built.template, out: renderCopy(built.template, footerFor(token), headers) };
}

describe('the rewrite corpus', () => {
  it('has at least 40 distinct shapes', () => {
    expect(shapes.length).toBeGreaterThanOrEqual(40);
    expect(new Set(shapes.map((s) => hash(s.raw))).size).toBe(shapes.length);
  });

  it('rewrites every shape into valid MIME with the footer once per text and HTML part', async () => {
    const failures: string[] = [];
    for (const shape of shapes) {
      const problems = await check(shape);
      if (problems.length > 0) failures.push(`${shape.name}:\n  ${problems.join('\n  ')}`);
    }
    expect(failures).toEqual([]);
  });

  it('encodes only the footer per copy, also after HTML and text written as one long line', async () => {
    const long = `${'<span>Notre offre, ligne très longue, sans retour à la ligne. </span>'.repeat(400)}`;
    const raw = Buffer.from(
      `From: alice@acme.example\r\nTo: bob@client.example\r\nSubject: Offre\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${'Texte sur une seule ligne. '.repeat(400)}\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>${long}</body></html>\r\n--b--\r\n`,
    );
    const built = await buildTemplate(raw, { hostname: 'x' });
    if (!built.ok) throw new Error(built.reason);
    const a = renderCopyParts(built.template, footerFor('k2.AAA-bob'), '');
    const b = renderCopyParts(built.template, footerFor('k2.BBB-carol'), '');
    // Bytes that are not a Buffer both copies share: what was encoded for this copy alone.
    const own = a.filter((part) => !b.includes(part)).reduce((n, part) => n + part.length, 0);
    expect(own).toBeLessThan(8000);
    expect(raw.length).toBeGreaterThan(30_000);
    const parsed = await simpleParser(Buffer.concat(a));
    expect(squash(String(parsed.html))).toContain(squash(long));
    expect(parsed.html).toContain('k2.AAA-bob');
    expect(parsed.text).toContain('Texte sur une seule ligne. Texte');
    expect(parsed.text).toContain('k2.AAA-bob');
  });

  it('gives each recipient their own link while sharing everything else', async () => {
    const shape = shapes.find((s) => s.name === 'one-megabyte attachment')!;
    const built = await buildTemplate(shape.raw, { hostname: 'x' });
    if (!built.ok) throw new Error(built.reason);
    const a = renderCopy(built.template, footerFor('k2.AAA-bob'), '');
    const b = renderCopy(built.template, footerFor('k2.BBB-carol'), '');
    const [pa, pb] = [await simpleParser(a), await simpleParser(b)];
    expect(pa.text).toContain('k2.AAA-bob');
    expect(pa.text).not.toContain('k2.BBB-carol');
    expect(pb.text).toContain('k2.BBB-carol');
    expect(hash(pa.attachments[0]!.content)).toBe(hash(pb.attachments[0]!.content));
    // Both copies are rendered from one template whose shared Buffers hold the attachment.
    const buffers = built.template.segments.filter((s) => Buffer.isBuffer(s));
    expect(buffers.reduce((n, s) => n + s.length, 0)).toBeGreaterThan(1024 * 1024);
    // ...which are slices of the submitted message itself, not copies of it.
    for (const b of buffers) expect(b.buffer).toBe(shape.raw.buffer);
  });

  it('leaves a signed part byte for byte as it was, so its signature still verifies', async () => {
    const shape = shapes.find((s) => s.name.includes('pgp-signed'))!;
    const { out, template } = await rewrite(shape);
    expect(template.wrapped).toBe(true);
    const original = shape.raw.toString('latin1');
    const signedBody = original.slice(original.indexOf('\r\n\r\n') + 4);
    expect(out.toString('latin1')).toContain(signedBody);
    expect(out.toString('latin1')).toMatch(/\r\nContent-Type: multipart\/signed; micalg=pgp-sha256;/);
  });

  it('does not touch the embedded message of a forward', async () => {
    const shape = shapes.find((s) => s.name.includes('forwarded-rfc822'))!;
    const { out } = await rewrite(shape);
    expect(out.toString()).toContain(
      'Subject: inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nInner text must stay untouched.\r\n',
    );
    const parsed = await simpleParser(out);
    expect(count(parsed.text, `${BASE}k2.TOKEN-FOR-BOB`)).toBe(1);
    expect(parsed.text).toMatch(/^See the forwarded message\.\n\n_+\nMessage envoyé par/);
  });
});

async function check(shape: Shape): Promise<string[]> {
  const problems: string[] = [];
  const { out } = await rewrite(shape);
  const original = await simpleParser(shape.raw);
  const parsed = await simpleParser(out);
  const link = `${BASE}k2.TOKEN-FOR-BOB`;

  // Headers: ours first, exactly once; the client's and the instructions gone.
  const headerBlock = out.subarray(0, out.indexOf('\r\n\r\n')).toString('latin1');
  if (!headerBlock.startsWith(`List-Unsubscribe: <${link}>,\r\n <mailto:`))
    problems.push('List-Unsubscribe is not first or not https-then-mailto');
  if (count(headerBlock, '\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click') !== 1)
    problems.push('List-Unsubscribe-Post missing or repeated');
  if (count(headerBlock.toLowerCase(), 'list-unsubscribe:') !== 1) problems.push('more than one List-Unsubscribe');
  if (/^(bcc|x-fairsend-)/im.test(headerBlock)) problems.push('Bcc or X-Fairsend header left');
  if (!parsed.messageId) problems.push('no Message-ID');
  if (count(headerBlock.toLowerCase(), '\r\nmime-version: 1.0') !== 1)
    problems.push('MIME-Version missing or repeated');

  // Lines within RFC 5322's 998 octets.
  const long = out
    .toString('latin1')
    .split('\r\n')
    .find((line) => line.length > 998);
  if (long) problems.push(`a line of ${long.length} octets`);
  if (/[^\r]\n/.test(out.toString('latin1'))) problems.push('a bare LF');

  // The footer: this recipient's, once in the text and once in the HTML, whatever the message
  // already says (a quoted footer of an earlier message stays as quoted text).
  if (parsed.text !== undefined && count(parsed.text, link) !== 1)
    problems.push(`text carries the link ${count(parsed.text, link)} times`);
  if (parsed.html && count(parsed.html, link) !== 1)
    problems.push(`html carries the link ${count(parsed.html, link)} times`);
  if (parsed.text !== undefined && !parsed.text.includes('Message envoyé par ACME Prospection SARL'))
    problems.push('text footer missing');
  if (parsed.html && !parsed.html.includes('Vos coordonnées professionnelles proviennent de'))
    problems.push('html footer missing');
  if (shape.quotedFooter && !(parsed.text ?? '').includes('https://unsubscribe.acme.example/u/k2.AAAA'))
    problems.push('the quoted footer was removed');

  // The original content, intact.
  // (line by line: mailparser joins several text parts, and the footer goes after the last one)
  if (original.text && !shape.wrapped) {
    const kept = squash(parsed.text ?? '');
    for (const line of original.text.split('\n')) {
      if (squash(line) && !kept.includes(squash(line))) problems.push(`text line lost: ${line.slice(0, 60)}`);
    }
  }
  if (original.html && !shape.wrapped) {
    const kept = squash(parsed.html || '');
    for (const piece of original.html.split(/\r?\n|<\/(?:body|html)>/i).map(squash)) {
      if (piece && !/charset/i.test(piece) && !kept.includes(piece)) problems.push(`html lost: ${piece.slice(0, 60)}`);
    }
  }

  // Attachments: identical bytes.
  const outHashes = parsed.attachments.map((a) => hash(a.content));
  for (const attachment of original.attachments) {
    if (!outHashes.includes(hash(attachment.content)))
      problems.push(`attachment ${attachment.filename ?? attachment.contentType} changed`);
  }
  return problems;
}
