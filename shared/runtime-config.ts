import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { type FairsendConfig, parseConfig, readRawConfig } from './config.ts';
import { ConfigError } from './errors.ts';

/**
 * The config of a process running in AWS (the relay task, the Lambdas): the JSON the CDK app
 * gave it (`FAIRSEND_CONFIG_JSON`: bundled into the Lambda code at build time, in the relay's task
 * definition; or a file named by `FAIRSEND_CONFIG`), the `FAIRSEND__…` overrides, and what is
 * secret, read once from Secrets Manager so no secret sits in an environment variable or a
 * template: the unsubscribe-token keys (`FAIRSEND_TOKEN_KEYS_SECRET`, `{"<key id>": "<secret>"}`)
 * the SMTP users' scrypt hashes (`FAIRSEND_SMTP_USERS_SECRET`, `{"<user>": "scrypt$…"}`) and the
 * key of erased people's keyed hashes (`FAIRSEND_ERASURE_KEY_SECRET`, a plain string).
 */
export async function loadRuntimeConfig(env: NodeJS.ProcessEnv = process.env): Promise<FairsendConfig> {
  const { raw, origin } = readRawConfig(env, 'fairsend.json');
  const withEnv = raw as Record<string, unknown> & {
    tokens?: { activeKeyId?: string; keys?: Record<string, string> };
    smtpUsers?: Record<string, { passwordHash?: string }>;
    privacy?: { erasureKey?: string };
  };
  if (env.FAIRSEND_TOKEN_KEYS_SECRET || env.FAIRSEND_SMTP_USERS_SECRET || env.FAIRSEND_ERASURE_KEY_SECRET) {
    const client = new SecretsManagerClient({});
    try {
      if (env.FAIRSEND_TOKEN_KEYS_SECRET) {
        const keys = await readSecretJson(client, env.FAIRSEND_TOKEN_KEYS_SECRET);
        withEnv.tokens = {
          ...withEnv.tokens,
          activeKeyId: withEnv.tokens?.activeKeyId ?? Object.keys(keys)[0] ?? '',
          keys,
        };
      }
      if (env.FAIRSEND_SMTP_USERS_SECRET) {
        const hashes = await readSecretJson(client, env.FAIRSEND_SMTP_USERS_SECRET);
        for (const [name, user] of Object.entries(withEnv.smtpUsers ?? {})) {
          if (hashes[name]) user.passwordHash = hashes[name];
        }
      }
      if (env.FAIRSEND_ERASURE_KEY_SECRET) {
        const out = await client.send(new GetSecretValueCommand({ SecretId: env.FAIRSEND_ERASURE_KEY_SECRET }));
        withEnv.privacy = { ...withEnv.privacy, erasureKey: out.SecretString ?? '' };
      }
    } finally {
      client.destroy();
    }
  }
  return parseConfig(withEnv, origin);
}

/** A secret holding a JSON object of strings. */
export async function readSecretJson(client: SecretsManagerClient, secretId: string): Promise<Record<string, string>> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  try {
    return z.record(z.string(), z.string()).parse(JSON.parse(out.SecretString ?? '{}'));
  } catch (err) {
    throw new ConfigError(`secret ${secretId} is not a JSON object of strings: ${(err as Error).message}`);
  }
}
