import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { importContacts } from '../../shared/contacts-import.ts';
import { startTestStack } from '../helpers/stack.ts';

let stack: LocalStack;
const dir = mkdtempSync(join(tmpdir(), 'fairsend-import-'));
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const csv = [
  '\uFEFFaddress,source,obtainedAt,profession,company,professional,language,reason,consentAt,consentHow',
  'Anne@Client.example,"Salon IT Lyon, stand B12",2026-03-14,DSI,Client SA,yes,fr,,,',
  'not-an-address,Salon IT,2026-03-14,,,,,,,',
  'bert@client.example,Salon IT,14/03/2026,,,,,,,',
  'carl@client.example,Salon IT,2026-03-14,,,,es,,,',
  'dora@client.example,Formulaire,2026-01-02,,,,en,,2026-01-02T10:00:00Z,newsletter form',
  'emil@client.example,Formulaire,,,,,,,2026-01-02T10:00:00Z,',
  'fritz@kunde.example,Messe Hannover,2026-04-21,CTO,Kunde GmbH,no,de,Sie leiten die IT,,',
  'gina@client.example,Salon IT,2026-02-30,,,,,,,',
].join('\r\n');

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

describe('contacts import', () => {
  it('saves the valid rows, refuses the others with their line and reason', async () => {
    const file = join(dir, 'contacts.csv');
    writeFileSync(file, csv);
    const out = capture();
    const summary = await importContacts(file, 'acme', stack.stores.contacts, out.stream);
    expect(summary).toEqual({ rows: 8, saved: 3, refused: 5 });
    expect(out.text()).toContain('8 rows: 3 saved, 5 refused');
    expect(out.text()).toContain('line 3: address: "not-an-address" is not a valid address');
    expect(out.text()).toContain('line 4: obtainedAt: must be a real date as YYYY-MM-DD');
    // Not a calendar date: refused, never stored (it would read "2 mars" in the footer).
    expect(out.text()).toContain('line 9: obtainedAt: must be a real date as YYYY-MM-DD');
    expect(out.text()).toContain('line 5: language: must be one of fr, en, de');
    expect(out.text()).toContain('line 7: consentHow: give both consentAt and consentHow, or neither');
    const saved = await stack.stores.contacts.getMany('acme', [
      'anne@client.example',
      'dora@client.example',
      'fritz@kunde.example',
    ]);
    expect(saved.get('anne@client.example')).toMatchObject({
      source: 'Salon IT Lyon, stand B12',
      obtainedAt: '2026-03-14',
      profession: 'DSI',
      professional: true,
      language: 'fr',
    });
    expect(saved.get('dora@client.example')?.consent).toEqual({
      at: '2026-01-02T10:00:00.000Z',
      how: 'newsletter form',
    });
    expect(saved.get('fritz@kunde.example')).toMatchObject({
      professional: false,
      reason: 'Sie leiten die IT',
      language: 'de',
    });
  });

  it('refuses a file with an unknown column before importing anything', async () => {
    const file = join(dir, 'typo.csv');
    writeFileSync(file, 'address,sourse\r\nzoe@client.example,Salon\r\n');
    const out = capture();
    expect((await importContacts(file, 'acme', stack.stores.contacts, out.stream)).saved).toBe(0);
    expect(out.text()).toContain('unknown column(s) sourse; the columns are address, source,');
    expect((await stack.stores.contacts.getMany('acme', ['zoe@client.example'])).size).toBe(0);
  });

  it('checks a file from the CLI with --dry-run and exits 1 when rows are refused', () => {
    const file = join(dir, 'cli.csv');
    writeFileSync(file, csv);
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'infra/cli.ts', 'contacts', 'import', file, '--dry-run'],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          FAIRSEND_DATA_DIR: join(dir, 'data'),
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('8 rows: 3 valid, 5 refused');
    expect(run.stderr).toContain('line 3: address:');
  });
});
