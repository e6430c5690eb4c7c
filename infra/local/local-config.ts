import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyEnvOverrides, type FairsendConfig, parseConfig } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';
import { hashPassword } from '../../shared/password.ts';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEMO_CONFIG = join(PROJECT_ROOT, 'infra/local/fairsend.local.json');

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.FAIRSEND_DATA_DIR ?? join(PROJECT_ROOT, '.data'));
}

export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.FAIRSEND_CONFIG ?? DEMO_CONFIG);
}

export interface LocalCredentials {
  [user: string]: { password: string; passwordHash: string };
}

/**
 * Loads the config for the local stack and the CLI. SMTP users declared without a passwordHash
 * get a random password, created once and kept in .data/local-credentials.json (mode 600), so
 * `npm start` needs no set-up and the banner can show the password.
 */
export async function loadLocalConfig(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ config: FairsendConfig; file: string; credentials: LocalCredentials }> {
  const file = configFile(env);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  const withEnv = applyEnvOverrides(raw, env) as { smtpUsers?: Record<string, { passwordHash?: string }> };
  const credentialsFile = join(dataDir(env), 'local-credentials.json');
  const credentials: LocalCredentials = existsSync(credentialsFile)
    ? (JSON.parse(readFileSync(credentialsFile, 'utf8')) as LocalCredentials)
    : {};
  let changed = false;
  for (const [user, entry] of Object.entries(withEnv.smtpUsers ?? {})) {
    if (!entry || typeof entry !== 'object' || entry.passwordHash) continue;
    if (!credentials[user]) {
      const password = randomBytes(12).toString('base64url');
      credentials[user] = { password, passwordHash: await hashPassword(password) };
      changed = true;
    }
    entry.passwordHash = credentials[user].passwordHash;
  }
  if (changed) {
    mkdirSync(dirname(credentialsFile), { recursive: true, mode: 0o700 });
    writeFileSync(credentialsFile, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  }
  return { config: parseConfig(withEnv, file), file, credentials };
}
