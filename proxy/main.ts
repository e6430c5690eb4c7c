import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { retentionOf } from '../shared/retention.ts';
import { loadRuntimeConfig, readSecretJson } from '../shared/runtime-config.ts';
import { createDynamoClient } from '../shared/stores/dynamo.ts';
import { createStores } from '../shared/stores/index.ts';
import { type ServerCertificate, serverCertificate } from '../shared/tls.ts';
import { startFleetRate } from './fleet-rate.ts';
import { startHealthServer } from './health.ts';
import { Relay } from './relay.ts';
import { SesV2Sender } from './ses-sender.ts';

/**
 * The relay as it runs in production (the ECS task): real DynamoDB and SES. Its certificate comes
 * from the Secrets Manager secret `FAIRSEND_TLS_SECRET` (`{"key", "cert"}`), read at start and
 * again every `FAIRSEND_TLS_REFRESH_MINUTES` (60): a renewed certificate is used for every new
 * connection, without a redeploy. Without that secret, from `FAIRSEND_TLS_KEY_PEM` /
 * `FAIRSEND_TLS_CERT_PEM` or the files of `smtp.tls`. SIGTERM stops accepting connections and lets
 * transactions finish.
 */
async function certificateFromSecret(client: SecretsManagerClient, secretId: string): Promise<ServerCertificate> {
  const { key, cert } = await readSecretJson(client, secretId);
  if (!key?.includes('PRIVATE KEY') || !cert?.includes('CERTIFICATE')) {
    throw new ConfigError(
      `secret ${secretId} holds no certificate yet: put {"key": "<PEM>", "cert": "<PEM chain>"} in it`,
    );
  }
  return { key, cert };
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const log = createLogger();
  const config = await loadRuntimeConfig();
  const secrets = process.env.FAIRSEND_TLS_SECRET ? new SecretsManagerClient({}) : undefined;
  const tls = secrets
    ? await certificateFromSecret(secrets, process.env.FAIRSEND_TLS_SECRET!)
    : serverCertificate(config.smtp.tls);
  const db = createDynamoClient(config.dynamodb);
  const sender = new SesV2Sender(config.ses);
  const stores = createStores(db, config.dynamodb.tables, retentionOf(config));
  const fleet = config.ses.fleetWide
    ? startFleetRate({
        registry: stores.fleet,
        accountRate: config.ses.maxSendRate,
        setRate: (rate) => sender.setRate(rate),
        log,
        intervalMs: config.ses.fleetHeartbeatMs,
      })
    : undefined;
  await fleet?.ready;
  const relay = new Relay({ config, tls, ...stores, sender, log });
  const addresses = await relay.listen();
  const health = await startHealthServer(Number(process.env.FAIRSEND_HEALTH_PORT ?? 8080), stores.oppositions, log);
  log.info('relay.listening', {
    starttls: addresses.starttls.port,
    implicitTls: addresses.implicitTls.port,
    health: health.port,
  });

  let current = tls.cert;
  const refresh = secrets
    ? setInterval(
        () => {
          certificateFromSecret(secrets, process.env.FAIRSEND_TLS_SECRET!).then(
            (next) => {
              if (next.cert === current) return;
              relay.updateCertificate(next);
              current = next.cert;
              log.info('relay.certificate-renewed', {});
            },
            (err: unknown) => log.error('relay.certificate-unreadable', { err }),
          );
        },
        Number(process.env.FAIRSEND_TLS_REFRESH_MINUTES ?? 60) * 60_000,
      )
    : undefined;
  process.once('SIGTERM', () => {
    log.info('relay.stopping', {});
    clearInterval(refresh);
    fleet?.stop();
    health.server.close();
    relay.close().then(() => {
      sender.destroy();
      db.destroy();
      secrets?.destroy();
      process.exit(0);
    });
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : ((err as Error).stack ?? String(err))}\n`);
  process.exit(1);
});
