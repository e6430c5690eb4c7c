import { type MimeNode, Splitter } from '@zone-eu/mailsplit';
import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { buildTemplate, MAX_DEPTH, renderCopy } from '../../shared/mime/rewrite.ts';

/**
 * Random and malformed MIME through the rewriter: it never throws, never loses a part, and
 * refuses what it cannot handle with a reason.
 */
type Tree =
  | { leaf: string; charset: string; encoding: string; disposition: string; body: string }
  | { multipart: string; children: Tree[] };

const leaf = fc.record({
  leaf: fc.constantFrom(
    'text/plain',
    'text/html',
    'application/pdf',
    'image/png',
    'text/calendar',
    'message/rfc822',
    'text/x-weird',
  ),
  charset: fc.constantFrom('utf-8', 'iso-8859-1', 'windows-1252', 'x-no-such-charset', '', 'UTF-16'),
  encoding: fc.constantFrom('7bit', '8bit', 'quoted-printable', 'base64', 'x-uuencode', ''),
  disposition: fc.constantFrom('', 'inline', 'attachment; filename="f.bin"', 'inline; filename="n.txt"'),
  body: fc.string({ unit: 'binary', maxLength: 300 }),
});
const tree: fc.Arbitrary<Tree> = fc.letrec<{ node: Tree }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({
      multipart: fc.constantFrom('mixed', 'alternative', 'related', 'signed', 'encrypted'),
      children: fc.array(tie('node'), { minLength: 0, maxLength: 4 }),
    }),
  ),
})).node;

let boundaryCounter = 0;
function serialise(node: Tree): string {
  if ('leaf' in node) {
    const headers = [`Content-Type: ${node.leaf}${node.charset ? `; charset=${node.charset}` : ''}`];
    if (node.encoding) headers.push(`Content-Transfer-Encoding: ${node.encoding}`);
    if (node.disposition) headers.push(`Content-Disposition: ${node.disposition}`);
    const body = node.encoding === 'base64' ? Buffer.from(node.body, 'latin1').toString('base64') : node.body;
    return `${headers.join('\r\n')}\r\n\r\n${body}`;
  }
  const boundary = `b${boundaryCounter++}`;
  const parts = node.children.map((child) => `--${boundary}\r\n${serialise(child)}\r\n`).join('');
  return `Content-Type: multipart/${node.multipart}; boundary="${boundary}"\r\n\r\npreamble\r\n${parts}--${boundary}--\r\n`;
}

function message(body: Tree): Buffer {
  return Buffer.from(
    `From: a@acme.example\r\nTo: b@client.example\r\nSubject: fuzz\r\nMIME-Version: 1.0\r\n${serialise(body)}`,
    'latin1',
  );
}

const mutation = fc.oneof(
  fc.constant((b: Buffer) => b),
  fc.nat().map((n) => (b: Buffer) => b.subarray(0, n % (b.length + 1))),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 })).map(
    ([at, bytes]) =>
      (b: Buffer) =>
        Buffer.concat([b.subarray(0, at % (b.length + 1)), Buffer.from(bytes), b.subarray(at % (b.length + 1))]),
  ),
  fc.constant((b: Buffer) => Buffer.from(b.toString('latin1').replace(/\r\n--b\d+--/, ''), 'latin1')),
);

function leaves(raw: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    let count = 0;
    const splitter = new Splitter();
    splitter.on('data', (d: { type: string }) => {
      if (d.type === 'node' && !(d as unknown as MimeNode).multipart) count++;
    });
    (splitter as unknown as NodeJS.EventEmitter).once('end', () => resolve(count));
    (splitter as unknown as NodeJS.EventEmitter).once('error', reject);
    splitter.end(raw);
  });
}

const FOOTER = { text: 'FOOTER https://u.example/u/T', html: '<p>FOOTER</p>' };

describe('rewriter under random and malformed MIME', () => {
  it('never throws, never loses a part, and its output parses', async () => {
    let accepted = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(tree, mutation, async (body, mutate) => {
        runs++;
        const raw = mutate(message(body));
        const built = await buildTemplate(raw, { hostname: 'x' });
        if (!built.ok) {
          expect(built.reason.length).toBeGreaterThan(10);
          return;
        }
        accepted++;
        const out = renderCopy(built.template, FOOTER, 'List-Unsubscribe: <https://u.example/u/T>\r\n');
        const before = await leaves(raw);
        const after = await leaves(out);
        expect(after).toBeGreaterThanOrEqual(before);
        await simpleParser(out);
      }),
      { numRuns: 250, seed: Number(process.env.FUZZ_SEED ?? 20261128) },
    );
    // A rewriter that refused everything would pass the property: most random messages must go through.
    expect(accepted / runs).toBeGreaterThan(0.8);
  });

  it('refuses MIME nested 100 deep with a clear reason', async () => {
    let body: Tree = { leaf: 'text/plain', charset: 'utf-8', encoding: '7bit', disposition: '', body: 'deep' };
    for (let i = 0; i < 100; i++) body = { multipart: 'mixed', children: [body] };
    const built = await buildTemplate(message(body), { hostname: 'x' });
    expect(built).toEqual({ ok: false, reason: `MIME parts are nested deeper than ${MAX_DEPTH} levels` });
  });

  it('refuses a header block over 1 MiB inside a part', async () => {
    const raw = Buffer.from(
      `From: a@acme.example\r\nContent-Type: multipart/mixed; boundary="z"\r\n\r\n--z\r\nX-Big: ${'a'.repeat(1_100_000)}\r\n\r\nbody\r\n--z--\r\n`,
    );
    const built = await buildTemplate(raw, { hostname: 'x' });
    expect(built.ok).toBe(false);
    expect(!built.ok && built.reason).toMatch(/^the MIME structure cannot be read/);
  });
});
