import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { runCli } from '../helpers/cli.ts';
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
