import { normaliseAddress, normaliseDomain } from '../../shared/address.ts';
import { type FairsendConfig, parseConfig, readRawConfig } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';
import { DEMO_CONFIG } from '../local/local-config.ts';

/**
 * What makes a config unfit for AWS, each with its field: local endpoints, a link base that is not
 * public https, a greeting name of localhost, the tables and SES in two regions.
 */
export function deployProblems(config: FairsendConfig): string[] {
  const problems: string[] = [];
  const loopback = (url: string) => /^(127\.|localhost$|\[::1\]$)/.test(new URL(url).hostname);
  if (config.dynamodb.endpoint && loopback(config.dynamodb.endpoint)) {
    problems.push(`dynamodb.endpoint: ${config.dynamodb.endpoint} is a local stand-in; remove it`);
  }
  if (config.ses.endpoint && loopback(config.ses.endpoint)) {
    problems.push(`ses.endpoint: ${config.ses.endpoint} is a local stand-in; remove it`);
  }
  const base = new URL(config.http.publicBaseUrl);
  if (base.protocol !== 'https:' || loopback(config.http.publicBaseUrl)) {
    problems.push(
      `http.publicBaseUrl: ${config.http.publicBaseUrl} must be the public https URL of the unsubscribe API`,
    );
  }
  if (/^localhost$/i.test(config.smtp.hostname)) {
    problems.push(
      'smtp.hostname: localhost is not a name clients can check the certificate against; give the public one',
    );
  }
  if (config.deploy.relaySize === 'small' && config.smtp.maxDataBytesInFlight > 256 * 1024 * 1024) {
    problems.push(
      'smtp.maxDataBytesInFlight: a small relay task has 1 GB of memory; hold at most 268435456 bytes of DATA at once',
    );
  }
  if (config.dynamodb.region !== config.ses.region) {
    problems.push(
      `dynamodb.region (${config.dynamodb.region}) and ses.region (${config.ses.region}) differ: the stack deploys to one region`,
    );
  }
  return problems;
}

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
  // Hashes live in the SmtpUserHashes secret, never in the template: a placeholder stands in here.
  const placeholderHash = 'scrypt$16384$8$1$cGxhY2Vob2xkZXI$cGxhY2Vob2xkZXI';
  for (const user of Object.values(raw.smtpUsers ?? {})) user.passwordHash = placeholderHash;
  // The keys are generated in Secrets Manager, never read from the config: a placeholder for the schema.
  const activeKeyId = (raw.tokens as { activeKeyId?: string } | undefined)?.activeKeyId ?? 'k1';
  raw.tokens = { activeKeyId, keys: { [activeKeyId]: 'generated in Secrets Manager at deploy time' } };
  const demo = file === DEMO_CONFIG;
  if (demo) {
    // The demo config points at the local stand-ins: deployed, it uses the real services.
    delete (raw as { dynamodb?: { endpoint?: string } }).dynamodb?.endpoint;
    delete (raw as { ses?: { endpoint?: string } }).ses?.endpoint;
    warnings.push('deploying the local demo config: set FAIRSEND_CONFIG to your production config');
  }
  const config = parseConfig(raw, file);
  const problems = deployProblems(config);
  if (problems.length > 0 && !demo) {
    throw new ConfigError(`${file} cannot be deployed:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
  warnings.push(...(demo ? problems : []));
  const sendingDomains = [
    ...new Set(
      Object.values(config.controllers).flatMap((c) =>
        c.allowedSenders.map((s) => (s.includes('@') ? normaliseAddress(s)?.domain : normaliseDomain(s)) ?? s),
      ),
    ),
  ];
  return { config, sendingDomains, warnings };
}
