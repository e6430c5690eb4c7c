import { ConfigError } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { loadRuntimeConfig } from '../shared/runtime-config.ts';
import { createDynamoClient } from '../shared/stores/dynamo.ts';
import { createStores } from '../shared/stores/index.ts';
import { serverCertificate } from '../shared/tls.ts';
import { Relay } from './relay.ts';
import { SesV2Sender } from './ses-sender.ts';

/**
 * The relay as it runs in production (the ECS task): real DynamoDB and SES, the certificate from
 * `FAIRSEND_TLS_KEY_PEM` / `FAIRSEND_TLS_CERT_PEM` (ECS injects them from Secrets Manager) or the
 * files named by `smtp.tls`. SIGTERM stops accepting connections and lets transactions finish.
 */
async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const log = createLogger();
  const config = await loadRuntimeConfig();
  const tls = serverCertificate(config.smtp.tls);
  const db = createDynamoClient(config.dynamodb);
  const sender = new SesV2Sender(config.ses);
  const relay = new Relay({ config, tls, ...createStores(db, config.dynamodb.tables), sender, log });
  const addresses = await relay.listen();
  log.info('relay.listening', { starttls: addresses.starttls.port, implicitTls: addresses.implicitTls.port });
  process.once('SIGTERM', () => {
    log.info('relay.stopping', {});
    relay.close().then(() => {
      sender.destroy();
      db.destroy();
      process.exit(0);
    });
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : ((err as Error).stack ?? String(err))}\n`);
  process.exit(1);
});
