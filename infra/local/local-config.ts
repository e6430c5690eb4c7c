import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FairsendConfig, parseConfig, readRawConfig } from '../../shared/config.ts';
import { hashPassword, newPassword } from '../../shared/password.ts';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEMO_CONFIG = join(PROJECT_ROOT, 'infra/local/fairsend.local.json');

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.FAIRSEND_DATA_DIR ?? join(PROJECT_ROOT, '.data'));
}

export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.FAIRSEND_CONFIG ?? DEMO_CONFIG);
}

export interface LocalSecrets {
  smtpUsers: Record<string, { password: string; passwordHash: string }>;
  tokenKeys: Record<string, string>;
  /** The key of erased people's keyed hashes (`privacy.erasureKey`), made once. */
  erasureKey?: string;
  /** The console's first admin account, made by the first `npm start` (the banner shows it). */
  consoleAdmin?: { name: string; password: string };
}

export function saveLocalSecrets(secrets: LocalSecrets, env: NodeJS.ProcessEnv = process.env): void {
  const secretsFile = join(dataDir(env), 'local-secrets.json');
  mkdirSync(dirname(secretsFile), { recursive: true, mode: 0o700 });
  writeFileSync(secretsFile, JSON.stringify(secrets, null, 2), { mode: 0o600 });
}

/**
 * Loads the config for the local stack and the CLI. What a demo needs but must not be committed
 * is made once and kept in .data/local-secrets.json (mode 600): a random password for each SMTP
 * user declared without a passwordHash (the banner shows it), and an unsubscribe-token key when
 * the config has no `tokens`.
 */
export async function loadLocalConfig(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ config: FairsendConfig; file: string; secrets: LocalSecrets }> {
  const file = configFile(env);
  const { raw } = readRawConfig({ ...env, FAIRSEND_CONFIG: file, FAIRSEND_CONFIG_JSON: undefined }, file);
  const withEnv = raw as {
    smtpUsers?: Record<string, { passwordHash?: string }>;
    tokens?: unknown;
    privacy?: { erasureKey?: string };
  };
  const secretsFile = join(dataDir(env), 'local-secrets.json');
  const secrets: LocalSecrets = existsSync(secretsFile)
    ? (JSON.parse(readFileSync(secretsFile, 'utf8')) as LocalSecrets)
    : { smtpUsers: {}, tokenKeys: {} };
  let changed = false;
  for (const [user, entry] of Object.entries(withEnv.smtpUsers ?? {})) {
    if (!entry || typeof entry !== 'object' || entry.passwordHash) continue;
    if (!secrets.smtpUsers[user]) {
      const password = newPassword(16);
      secrets.smtpUsers[user] = { password, passwordHash: await hashPassword(password) };
      changed = true;
    }
    entry.passwordHash = secrets.smtpUsers[user].passwordHash;
  }
  if (withEnv.tokens === undefined) {
    if (!secrets.tokenKeys.local) {
      secrets.tokenKeys.local = randomBytes(32).toString('base64url');
      changed = true;
    }
    withEnv.tokens = { activeKeyId: 'local', keys: { local: secrets.tokenKeys.local } };
  }
  if (!withEnv.privacy?.erasureKey) {
    if (!secrets.erasureKey) {
      secrets.erasureKey = randomBytes(32).toString('base64url');
      changed = true;
    }
    withEnv.privacy = { ...withEnv.privacy, erasureKey: secrets.erasureKey };
  }
  if (changed) saveLocalSecrets(secrets, env);
  return { config: parseConfig(withEnv, file), file, secrets };
}
