import { normaliseAddress, normaliseDomain } from '../../shared/address.ts';
import { type FairsendConfig, parseConfig, readRawConfig } from '../../shared/config.ts';
import { DEMO_CONFIG } from '../local/local-config.ts';

/**
 * The config the CDK app deploys, validated by the same schema. Secrets are not part of it: the
 * token keys are generated in Secrets Manager by the stack, so a placeholder stands in for them
 * here; an SMTP user without a passwordHash is reported (its hash can also come from a
 * `FAIRSEND__smtpUsers__<name>__passwordHash` override at run time).
 */
export function configuredForDeploy(env: NodeJS.ProcessEnv = process.env): {
  config: FairsendConfig;
  sendingDomains: string[];
  warnings: string[];
} {
  const { raw: read, origin: file } = readRawConfig(env, DEMO_CONFIG);
  const raw = read as {
    smtpUsers?: Record<string, { passwordHash?: string }>;
    tokens?: unknown;
  };
  const warnings: string[] = [];
  const placeholderHash = 'scrypt$16384$8$1$cGxhY2Vob2xkZXI$cGxhY2Vob2xkZXI';
  for (const [name, user] of Object.entries(raw.smtpUsers ?? {})) {
    if (!user.passwordHash) {
      warnings.push(`smtpUsers.${name}.passwordHash is not set: the relay will refuse to start until it is`);
      user.passwordHash = placeholderHash;
    }
  }
  raw.tokens ??= { activeKeyId: 'k1', keys: { k1: 'generated in Secrets Manager at deploy time' } };
  const config = parseConfig(raw, file);
  for (const user of Object.values(config.smtpUsers)) if (user.passwordHash === placeholderHash) user.passwordHash = '';
  const sendingDomains = [
    ...new Set(
      Object.values(config.controllers).flatMap((c) =>
        c.allowedSenders.map((s) => (s.includes('@') ? normaliseAddress(s)?.domain : normaliseDomain(s)) ?? s),
      ),
    ),
  ];
  return { config, sendingDomains, warnings };
}
