import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { type FairsendConfig, parseConfig, readRawConfig } from './config.ts';

/**
 * The config of a process running in AWS (the proxy task, the Lambdas): the JSON the CDK app put
 * in `FAIRSEND_CONFIG_JSON` (or a file named by `FAIRSEND_CONFIG`), the `FAIRSEND__…` environment
 * overrides, and the unsubscribe-token keys read once from Secrets Manager (`FAIRSEND_TOKEN_KEYS_SECRET`,
 * a JSON object of key id → secret), so no secret sits in an environment variable or a template.
 */
export async function loadRuntimeConfig(env: NodeJS.ProcessEnv = process.env): Promise<FairsendConfig> {
  const { raw, origin } = readRawConfig(env, 'fairsend.json');
  const withEnv = raw as Record<string, unknown> & {
    tokens?: { activeKeyId?: string; keys?: Record<string, string> };
  };
  if (env.FAIRSEND_TOKEN_KEYS_SECRET) {
    const client = new SecretsManagerClient({});
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: env.FAIRSEND_TOKEN_KEYS_SECRET }));
      const keys = z.record(z.string(), z.string()).parse(JSON.parse(out.SecretString ?? '{}'));
      withEnv.tokens = {
        ...withEnv.tokens,
        activeKeyId: withEnv.tokens?.activeKeyId ?? Object.keys(keys)[0] ?? '',
        keys,
      };
    } finally {
      client.destroy();
    }
  }
  return parseConfig(withEnv, origin);
}
