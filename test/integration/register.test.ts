import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CONFIG } from '../../infra/local/local-config.ts';
import type { LocalStack } from '../../infra/local/stack.ts';
import { parseConfig } from '../../shared/config.ts';
import type { Actor } from '../../shared/console/service.ts';
import { hashPassword } from '../../shared/password.ts';
import { runCli } from '../helpers/cli.ts';
import { PASSWORD } from '../helpers/config.ts';
import { sendWithNodemailer } from '../helpers/smtp.ts';
import { startTestStack } from '../helpers/stack.ts';

/** The register of processing (art. 30) generated from the shipped demo config, with live figures. */
let stack: LocalStack;
const dir = mkdtempSync(join(tmpdir(), 'fairsend-register-'));
let configFile: string;
const dpo: Actor = { name: 'dpo', role: 'admin', via: 'cli' };

beforeAll(async () => {
  const raw = JSON.parse(readFileSync(DEMO_CONFIG, 'utf8'));
  raw.smtp = { ...raw.smtp, starttlsPort: 0, implicitTlsPort: 0 };
  raw.http = { ...raw.http, port: 0 };
  raw.dynamodb = { region: raw.dynamodb.region };
  raw.ses = { ...raw.ses, endpoint: undefined };
  raw.tokens = { activeKeyId: 'k1', keys: { k1: 'a test secret of at least thirty-two chars' } };
  raw.privacy = { erasureKey: 'a test erasure key of at least thirty-two chars' };
  const hash = await hashPassword(PASSWORD);
  for (const user of Object.values(raw.smtpUsers) as { passwordHash?: string }[]) user.passwordHash = hash;
  stack = await startTestStack({ config: parseConfig(raw, 'demo config') });
  configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(stack.config));
});
afterAll(async () => {
  await stack?.stop();
});

describe('the register of processing', () => {
  it('is generated from the demo config, per purpose, with its balancing test or consent, processors, retention and figures', async () => {
    await stack.console.saveContact(dpo, {
      controller: 'demo',
      address: 'anne@client.example',
      source: 'salon IT Partners 2026',
    });
    await sendWithNodemailer(stack, {
      user: 'demo',
      from: 'claire@exemple-conseil.example',
      to: ['anne@client.example'],
      raw: 'From: claire@exemple-conseil.example\r\nTo: anne@client.example\r\nSubject: Bonjour\r\n\r\nBonjour.\r\n',
    });
    await stack.console.addOpposition(dpo, 'demo', 'paul@client.example', 'by phone');
    await stack.console.privacy.createRequest(dpo, {
      controller: 'demo',
      kind: 'access',
      address: 'anne@client.example',
    });

    const register = await stack.console.register.build('fr');
    const demo = register.controllers[0]!;
    expect(demo.entries.map((e) => [e.purpose, e.legalBasis])).toEqual([
      ['prospection-b2b', 'legitimate-interest'],
      ['prospection-dsi', 'legitimate-interest'],
      ['newsletter', 'consent'],
    ]);
    expect(demo.entries[0]!.balancingTest?.interest).toMatch(/^Trouver des clients/);
    expect(demo.entries[2]!.consentCollection?.how).toMatch(/double opt-in/);
    expect(demo.entries[0]!.copiesLast12Months).toBe(1);
    expect(demo.processors[0]).toMatchObject({ region: 'eu-west-3', leavesEu: 'non (région UE eu-west-3)' });
    expect(demo.figures).toMatchObject({
      peopleBySource: { 'salon IT Partners 2026': 1 },
      oppositionsByOrigin: { manual: 1 },
      requests: { received: 1, open: 1, answered: 0 },
    });

    const md = await runCli(configFile, dir, 'register', '--lang', 'en');
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^# Record of processing activities \(GDPR art\. 30\)/);
    expect(md.stdout).toContain('### Purpose: B2B prospecting for our IT consulting services (`prospection-b2b`)');
    expect(md.stdout).toContain(
      '| Balancing test (legitimate interest): Interest pursued | Finding customers for our IT consulting services',
    );
    expect(md.stdout).toContain('| Data-subject requests | 1 received, 0 answered, 1 open, 0 late |');
    const json = await runCli(configFile, dir, 'register', '--format', 'json');
    expect(JSON.parse(json.stdout).controllers[0].entries).toHaveLength(3);
  });

  it('refuses a config whose legitimate-interest purpose has no balancing test', async () => {
    const raw = JSON.parse(readFileSync(DEMO_CONFIG, 'utf8'));
    const hash = await hashPassword(PASSWORD);
    for (const user of Object.values(raw.smtpUsers) as { passwordHash?: string }[]) user.passwordHash = hash;
    delete raw.purposes['prospection-b2b'].balancingTest;
    delete raw.purposes.newsletter.consentCollection;
    raw.tokens = { activeKeyId: 'k1', keys: { k1: 'a test secret of at least thirty-two chars' } };
    expect(() => parseConfig(raw, 'fairsend.json')).toThrow(
      /purposes\.prospection-b2b\.balancingTest: a legitimate-interest purpose needs its balancing test[\s\S]*purposes\.newsletter\.consentCollection: a consent purpose needs/,
    );
  });
});
