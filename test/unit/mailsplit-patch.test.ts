import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type MimeNode, Splitter } from '@zone-eu/mailsplit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/**
 * patches/@zone-eu+mailsplit+*.patch, applied by patch-package at install (package.json's
 * postinstall, the Dockerfile's build stage):
 * - mailsplit finds each line's end with Buffer#indexOf instead of a loop turn per byte: its split
 *   of the benchmark's 20 KB message took ~160 µs of CPU instead of ~250, of a 25 MB one 60–170 ms
 *   instead of 160–250;
 * - a body line that cannot be a delimiter line and continues a run of body lines only extends the
 *   run, without processLine: the benchmark message's template took 230–300 µs instead of 330–440.
 */
const require = createRequire(import.meta.url);
const PATCH_DIR = new URL('../../patches/', import.meta.url);

describe('the mailsplit patch', () => {
  it('is applied to the installed mailsplit (npm install runs patch-package)', () => {
    const { version } = require('@zone-eu/mailsplit/package.json') as { version: string };
    const patch = readFileSync(new URL(`@zone-eu+mailsplit+${version}.patch`, PATCH_DIR), 'utf8');
    const added = patch
      .split('\n')
      .filter((line) => line.startsWith('+') && !line.startsWith('+++'))
      .map((line) => line.slice(1).trim())
      .filter((line) => line !== '');
    expect(added.length).toBeGreaterThan(0);
    const installed = readFileSync(require.resolve('@zone-eu/mailsplit/lib/message-splitter.js'), 'utf8');
    for (const line of added) expect(installed).toContain(line);
  });

  it('splits byte for byte, and the same way, whatever the line lengths and write boundaries', async () => {
    const line = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'b', ' ', '=', '-'), maxLength: 100 }),
      // Long lines: many writes end inside them, and some writes hold no line end at all.
      fc.nat({ max: 3000 }).map((n) => 'x'.repeat(n)),
    );
    const ending = fc.constantFrom('\r\n', '\r\n', '\r\n', '\n', '\r');
    const body = fc
      .array(fc.tuple(line, ending), { maxLength: 30 })
      .map((lines) => lines.map(([text, end]) => `${text}${end}`).join(''));
    // No line of these bodies can be a boundary line ("--b1" needs a "1"). The text ends in a
    // letter: mailsplit reports a body that is only a line break as that break.
    const message = fc.tuple(body, body, fc.boolean()).map(([lines, attachment, closed]) => ({
      text: `${lines}end`,
      raw: Buffer.from(
        'From: a@acme.example\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
          `--b1\r\nContent-Type: text/plain\r\n\r\n${lines}end\r\n` +
          `--b1\r\nContent-Type: application/pdf\r\n\r\n${attachment}` +
          (closed ? '\r\n--b1--\r\n' : ''),
        'latin1',
      ),
    }));
    const writes = fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(message, writes, async ({ text, raw }, sizes) => {
        for (const items of [await split(raw, [raw.length]), await split(raw, sizes)]) {
          // Every byte once, in order; the root and its two parts; the text part's body exactly
          // the text (the line break before a boundary belongs to the boundary).
          expect(Buffer.concat(items.map(([, bytes]) => bytes)).equals(raw)).toBe(true);
          const runs = merged(items);
          const nodes = runs.flatMap(([type], i) => (type === 'node' ? [i] : []));
          expect(nodes).toHaveLength(3);
          const textBody = runs[nodes[1]! + 1];
          expect(textBody?.[0] === 'body' ? textBody[1] : '').toBe(text);
        }
      }),
      { numRuns: 300, seed: 20261129 },
    );
  });

  it('passes a body line by only when processLine would have returned it as body: the same items as without the shortcut', async () => {
    // The installed splitter against the same file with the shortcut cut out (every line through
    // processLine, as upstream), both given the same writes.
    const LineByLine = lineByLineSplitter();
    const line = fc.oneof(
      fc.constantFrom('--outer', '--outer--', '--inner', '--inner--  ', '--outerx', '--inn', '-', '--', '', ' --outer'),
      fc.constantFrom('\r--outer', '\r', '\r\r--inner', 'Content-Type: text/plain', 'x'.repeat(80), 'a-b'),
      fc.string({ unit: fc.constantFrom('a', '-', ' ', '\r'), maxLength: 12 }),
    );
    const ending = fc.constantFrom('\r\n', '\r\n', '\n');
    const body = fc
      .array(fc.tuple(line, ending), { maxLength: 12 })
      .map((lines) => lines.map(([text, end]) => `${text}${end}`).join(''));
    const message = fc
      .tuple(body, body, body, body, fc.boolean())
      .map(([preamble, first, inner, last, closed]) =>
        Buffer.from(
          'From: a@acme.example\r\nContent-Type: multipart/mixed; boundary="outer"\r\n\r\n' +
            preamble +
            `--outer\r\nContent-Type: text/plain\r\n\r\n${first}` +
            '--outer\r\nContent-Type: multipart/alternative; boundary="inner"\r\n\r\n' +
            `--inner\r\nContent-Type: text/html\r\n\r\n${inner}` +
            `--inner--\r\n${last}` +
            (closed ? '--outer--\r\n' : ''),
          'latin1',
        ),
      );
    const writes = fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 6 });
    let passedBy = 0;
    await fc.assert(
      fc.asyncProperty(message, writes, async (raw, sizes) => {
        for (const pieces of [[raw.length], sizes]) {
          const patched = await splitCounting(raw, pieces, Splitter);
          const upstream = await splitCounting(raw, pieces, LineByLine);
          expect(patched.items).toEqual(upstream.items);
          passedBy += upstream.lines - patched.lines;
        }
      }),
      { numRuns: 400, seed: 20261129 },
    );
    // The shortcut was taken (processLine ran for fewer lines), so the comparison says something.
    expect(passedBy).toBeGreaterThan(1000);
  });
});

/** mailsplit's items (type, bytes) for `raw` written in pieces of the given sizes, cycled. */
async function split(raw: Buffer, sizes: number[]): Promise<[string, Buffer][]> {
  return (await splitCounting(raw, sizes, Splitter)).items;
}

/** The items, and how many lines went through processLine, with the given splitter class. */
function splitCounting(
  raw: Buffer,
  sizes: number[],
  Class: typeof Splitter,
): Promise<{ items: [string, Buffer][]; lines: number }> {
  return new Promise((resolve, reject) => {
    const items: [string, Buffer][] = [];
    const splitter = new Class();
    const counted = splitter as unknown as { processLine: (...args: unknown[]) => void };
    const processLine = counted.processLine;
    let lines = 0;
    counted.processLine = function (this: unknown, ...args: unknown[]) {
      lines++;
      return processLine.apply(this, args);
    };
    splitter.on('data', (item: { type: string; value?: Buffer }) => {
      const bytes = item.type === 'node' ? (item as unknown as MimeNode).getHeaders() : (item.value ?? Buffer.alloc(0));
      items.push([item.type, bytes]);
    });
    const events = splitter as unknown as NodeJS.EventEmitter;
    events.once('end', () => resolve({ items, lines }));
    events.once('error', reject);
    for (let at = 0, n = 0; at < raw.length; n++) {
      const size = sizes[n % sizes.length]!;
      splitter.write(raw.subarray(at, at + size));
      at += size;
    }
    splitter.end();
  });
}

/**
 * The installed splitter with the patch's body-line shortcut cut out: a copy of its file beside it
 * (so that its own require()s resolve), loaded as a module of its own.
 */
function lineByLineSplitter(): typeof Splitter {
  const file = require.resolve('@zone-eu/mailsplit/lib/message-splitter.js');
  const source = readFileSync(file, 'utf8');
  const shortcut = /\n {16}\/\/ Fairsend: a body line that continues[\s\S]*?\n {20}continue;\n {16}\}\n/;
  expect(source).toMatch(shortcut);
  const copy = join(dirname(file), `message-splitter.line-by-line-${process.pid}.cjs`);
  writeFileSync(copy, source.replace(shortcut, '\n'));
  try {
    return require(copy) as typeof Splitter;
  } finally {
    rmSync(copy);
  }
}

/** Adjacent items of one type joined (a write boundary may split a run of body or data in two). */
function merged(items: [string, Buffer][]): [string, string][] {
  const out: [string, string][] = [];
  for (const [type, bytes] of items) {
    const last = out.at(-1);
    if (last && last[0] === type && type !== 'node') last[1] += bytes.toString('latin1');
    else out.push([type, bytes.toString('latin1')]);
  }
  return out.filter(([type, text]) => type === 'node' || text !== '');
}
