import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { runCli, runCliWithInput } from '../helpers/cli.ts';
import { startTestStack } from '../helpers/stack.ts';

/** The CLI as an admin types it: help, usage errors, paging, CSV files as Excel writes them. */
let stack: LocalStack;
const dir = mkdtempSync(join(tmpdir(), 'fairsend-cli-'));
let configFile: string;
beforeAll(async () => {
  stack = await startTestStack();
  configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(stack.config));
});
afterAll(async () => {
  await stack?.stop();
});

const cli = (...args: string[]) => runCli(configFile, dir, ...args);

describe('fairsend CLI', () => {
  it('prints usage for --help, help and <command> --help, and exits 2 on an unknown option or command', async () => {
    expect((await cli('--help')).stdout).toMatch(/^usage: npm run fairsend -- <command>/);
    expect((await cli('help', 'contacts')).stdout).toMatch(/^usage: npm run fairsend -- contacts import <file\.csv>/);
    expect((await cli('blocked', '--help')).stdout).toMatch(/^usage: npm run fairsend -- blocked/);
    const unknownOption = await cli('blocked', '--frobnicate');
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toMatch(/Unknown option '--frobnicate'[\s\S]*usage:/);
    const unknownCommand = await cli('frobnicate');
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toMatch(/^unknown command "frobnicate"/);
  });

  it('refuses a bad number as an argument error, not a DynamoDB error', async () => {
    const run = await cli('blocked', '--controller', 'acme', '--limit', 'abc');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^--limit takes a whole number ≥ 1, not "abc"/);
  });

  it('pages long lists: --limit N, and --all', async () => {
    for (let i = 0; i < 4; i++) {
      await stack.stores.blockedSends.record({
        controller: 'acme',
        user: 'alice',
        mailFrom: 'alice@acme.example',
        recipient: `page${i}@client.example`,
        rule: 'opposition:address',
      });
    }
    const two = await cli('blocked', '--controller', 'acme', '--limit', '2');
    expect(two.stdout.trim().split('\n')).toHaveLength(2);
    expect(two.stderr).toMatch(/the 2 newest shown; --limit N for more, --all for every one/);
    const all = await cli('blocked', '--controller', 'acme', '--all');
    expect(all.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(4);
    expect(all.stderr).toBe('');
  });

  it('says so, exit 1, for an unknown contact with --show', async () => {
    const run = await cli('contact', 'nobody@client.example', '--controller', 'acme', '--show');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^no contact nobody@client\.example for acme/);
  });

  it('a missing file is a one-line error', async () => {
    const run = await cli('contacts', 'import', join(dir, 'missing.csv'), '--controller', 'acme');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`${join(dir, 'missing.csv')}: no such file\n`);
  });

  it('imports a French Excel file (BOM, semicolons), reports duplicates and bad rows, skips blank lines, writes rejects', async () => {
    const file = join(dir, 'excel.csv');
    writeFileSync(
      file,
      `\uFEFFaddress;source;obtainedAt;profession\r\nanne@client.example;Salon IT;2026-03-14;DSI\r\n\r\n;;;\r\nANNE@client.example;Salon IT;2026-03-14;DSI\r\nbert@client.example;Salon IT;2026-02-30;\r\ncarl@client.example;Salon IT\r\ndora@client.example;"Fichier; acheté";2026-01-02;CTO\r\n`,
    );
    const rejects = join(dir, 'rejects.csv');
    const run = await cli('contacts', 'import', file, '--controller', 'acme', '--rejects', rejects);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('5 rows: 2 saved, 3 refused');
    expect(run.stderr).toContain('line 5: address: anne@client.example is already on line 2 of this file');
    expect(run.stderr).toContain('line 6: obtainedAt: must be a real date as YYYY-MM-DD');
    expect(run.stderr).toContain('line 7: 2 fields where the header has 4');
    const written = readFileSync(rejects, 'utf8');
    expect(written.split('\r\n')[0]).toBe('\uFEFFaddress,source,obtainedAt,profession,reason');
    expect(written.split('\r\n').filter(Boolean)).toHaveLength(4);
    const dora = (await stack.stores.contacts.getMany('acme', ['dora@client.example'])).get('dora@client.example');
    expect(dora?.source).toBe('Fichier; acheté');
  });

  it('reads tab-separated files', async () => {
    const file = join(dir, 'tabs.tsv');
    writeFileSync(file, 'address\tsource\nerin@client.example\tCarte de visite\n');
    const run = await cli('contacts', 'import', file, '--controller', 'acme');
    expect(run.stderr).toContain('1 rows: 1 saved, 0 refused');
  });
});

describe('fairsend CLI: the console service from a terminal', () => {
  it('makes console accounts: the password from stdin, or made and printed once', async () => {
    const piped = await runCliWithInput(configFile, dir, 'a-long-enough-password\n', 'admin', 'create', 'cli-admin');
    expect([piped.code, piped.stdout, piped.stderr]).toEqual([0, 'account cli-admin (admin) created\n', '']);
    const made = await cli('admin', 'create', 'cli-reviewer', '--role', 'reviewer');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(
      /^account cli-reviewer \(reviewer\) created; its password \(shown once\): [A-Za-z0-9_-]{24}\n$/,
    );
    const again = await cli('admin', 'create', 'cli-admin');
    expect([again.code, again.stderr]).toEqual([2, 'an account "cli-admin" already exists\n']);
    const badRole = await cli('admin', 'create', 'x', '--role', 'boss');
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/^--role is admin or reviewer/);
  });

  it('adds, lists and disables SMTP users; removes an opposition only with a reason; imports an opt-out list; all audited', async () => {
    const added = await cli('user', 'add', 'cli-user', '--controller', 'acme', '--allowed-from', 'alice@acme.example');
    expect(added.stdout).toMatch(/^SMTP user cli-user added; its password \(shown once\): [A-Za-z0-9_-]{24}\n$/);
    const outside = await cli('user', 'add', 'bad-user', '--controller', 'acme', '--allowed-from', 'x@globex.example');
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain(`"x@globex.example" is not within controller "acme"'s allowedSenders`);
    expect((await cli('user', 'disable', 'cli-user')).stdout).toMatch(
      /^cli-user disabled; every relay picks it up within 5 s/,
    );
    const users = await cli('users');
    expect(users.stdout).toMatch(/^cli-user {2}DISABLED {2}source=console {2}controller=acme/m);
    expect(users.stdout).toMatch(/^alice {2}enabled {2}source=config/m);

    await cli('oppose', 'gone@client.example', '--controller', 'acme', '--note', 'by phone');
    const noReason = await cli('unoppose', 'gone@client.example', '--controller', 'acme');
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/^--reason is required/);
    const removed = await cli(
      'unoppose',
      'gone@client.example',
      '--controller',
      'acme',
      '--reason',
      'consented again on 2026-11-27',
    );
    expect(removed.stdout).toBe(
      "gone@client.example (origin manual) removed from acme's list; the reason is in the audit trail\n",
    );

    const file = join(dir, 'optout.csv');
    writeFileSync(file, 'email\r\nout1@client.example\r\nnonsense\r\n@out.example\r\n');
    const imported = await cli('oppositions', 'import', file, '--controller', 'acme');
    expect(imported.code).toBe(1);
    expect(imported.stderr).toContain('3 of 3 rows: 2 added, 0 already on the list, 1 refused');
    expect(imported.stderr).toContain('line 3: neither an address nor @domain: nonsense');
    expect((await cli('oppositions', '--controller', 'acme', '--search', '@out.example')).stdout).toMatch(
      /^@out\.example {2}origin=import/,
    );

    const audit = await cli('audit', '--limit', '20');
    const actions = audit.stdout.split('\n').map((l) => l.split('  ')[2]);
    for (const action of [
      'admin-account.create',
      'smtp-user.add',
      'smtp-user.change',
      'opposition.add',
      'opposition.remove',
      'opposition.import',
    ]) {
      expect(actions).toContain(action);
    }
    expect(audit.stdout).toContain('reason="consented again on 2026-11-27"');
    expect(audit.stdout).toMatch(/ \(cli\) {2}opposition\.remove/);
  });

  it('filters blocked sends like the console', async () => {
    await stack.stores.blockedSends.record({
      controller: 'acme',
      user: 'filter-me',
      mailFrom: 'alice@acme.example',
      recipient: 'z@zed.example',
      rule: 'policy:no-consent',
    });
    const byUser = await cli('blocked', '--controller', 'acme', '--user', 'filter-me');
    expect(byUser.stdout.trim().split('\n')).toHaveLength(1);
    expect(byUser.stdout).toContain('z@zed.example');
    expect((await cli('blocked', '--controller', 'acme', '--recipient', '@zed.example', '--json')).stdout).toContain(
      '"user": "filter-me"',
    );
    const badDate = await cli('blocked', '--controller', 'acme', '--from', '2026-13-40');
    expect([badDate.code, badDate.stderr.split('\n')[0]]).toEqual([
      2,
      '--from takes a date as YYYY-MM-DD, not "2026-13-40"',
    ]);
    // A date that does not exist is not rolled over into the next month.
    const rolled = await cli('blocked', '--controller', 'acme', '--to', '2026-02-30');
    expect([rolled.code, rolled.stderr.split('\n')[0]]).toEqual([
      2,
      '--to takes a date as YYYY-MM-DD, not "2026-02-30"',
    ]);
  });
});
