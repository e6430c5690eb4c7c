import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { printable } from '../../shared/printable.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestStack } from '../helpers/stack.ts';

/** What a sender writes in a subject or a Message-ID reaches the admin's terminal as text, never as a command. */
let stack: LocalStack;
const dir = mkdtempSync(join(tmpdir(), 'fairsend-escapes-'));
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('terminal escapes', () => {
  it('fairsend blocked prints control characters as escapes', async () => {
    await stack.stores.blockedSends.record({
      controller: 'acme',
      user: 'alice',
      mailFrom: 'alice@acme.example',
      recipient: 'bob@client.example',
      rule: 'opposition:address',
      subject: 'Hi\u001b]0;pwned\u0007\u001b[2J\u202eevil',
      messageId: '<x\u001b[31m@acme.example>',
    });
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify(stack.config));
    const run = await runCli(configFile, dir, 'blocked', '--controller', 'acme');
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('bob@client.example');
    for (const raw of ['\u001b', '\u0007', '\u202e']) expect(run.stdout).not.toContain(raw);
    expect(run.stdout).toContain('\\x1b[31m');
    expect(run.stdout).toContain('\\u202e');
  });

  it('keeps tabs and printable text as they are', () => {
    expect(printable('a\tb é ✓')).toBe('a\tb é ✓');
    expect(printable('\u0000\u009b')).toBe('\\x00\\x9b');
  });
});
