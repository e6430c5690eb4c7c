import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyEnvOverrides, loadConfig, parseConfig } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';
import { testConfig } from '../helpers/config.ts';

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('accepts the test config and fills in defaults', async () => {
    const config = await testConfig();
    expect(config.dynamodb.tables.oppositions).toBe('fairsend-oppositions');
    expect(config.controllers.acme?.defaultLanguage).toBe('fr');
  });

  it('names the exact path of a bad field', async () => {
    const good = await testConfig();
    const raw = structuredClone(good) as any;
    raw.smtpUsers.alice.controller = 'nobody';
    raw.controllers.acme.contactEmail = 'not an address';
    raw.smtp.maxMessageBytes = 50 * 1024 * 1024;
    const issues = issuesOf(() => parseConfig(raw));
    expect(issues.map((i) => i.path).sort()).toEqual([
      'controllers.acme.contactEmail',
      'smtp.maxMessageBytes',
      'smtpUsers.alice.controller',
    ]);
    expect(issues.find((i) => i.path === 'smtpUsers.alice.controller')?.message).toBe(
      'unknown controller "nobody" (known: acme, globex)',
    );
  });

  it("refuses a user allowed to send from outside its company's domains", async () => {
    const raw = structuredClone(await testConfig()) as any;
    raw.smtpUsers.alice.allowedFrom = ['acme.example', 'ceo@bank.example'];
    expect(issuesOf(() => parseConfig(raw))).toEqual([
      {
        path: 'smtpUsers.alice.allowedFrom.1',
        message: '"ceo@bank.example" is not within controller "acme"\'s allowedSenders',
      },
    ]);
  });

  it('refuses a password that is not an scrypt hash', async () => {
    const raw = structuredClone(await testConfig()) as any;
    raw.smtpUsers.alice.passwordHash = 'hunter2';
    expect(issuesOf(() => parseConfig(raw))[0]?.path).toBe('smtpUsers.alice.passwordHash');
  });

  it('takes secrets from FAIRSEND__ environment variables, JSON or plain', () => {
    const out = applyEnvOverrides(
      { smtpUsers: { alice: { controller: 'acme' } } },
      {
        FAIRSEND__smtpUsers__alice__passwordHash: 'scrypt$1$2$3$a$b',
        FAIRSEND__ses__maxSendRate: '20',
        OTHER: 'x',
      },
    );
    expect(out).toEqual({
      smtpUsers: { alice: { controller: 'acme', passwordHash: 'scrypt$1$2$3$a$b' } },
      ses: { maxSendRate: 20 },
    });
  });

  it('says which file is unreadable or not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairsend-config-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ "controllers": ');
    expect(() => loadConfig(file, {})).toThrow(/config file .*bad\.json is not valid JSON/);
    expect(() => loadConfig(join(dir, 'missing.json'), {})).toThrow(/cannot read config file .*missing\.json/);
  });
});
