import { ConsoleAuth } from '../shared/console/auth.ts';
import { ConsoleService } from '../shared/console/service.ts';
import { FeedbackProcessor } from '../shared/feedback.ts';
import { createLogger } from '../shared/log.ts';
import { retentionOf } from '../shared/retention.ts';
import { loadRuntimeConfig } from '../shared/runtime-config.ts';
import { createDynamoClient } from '../shared/stores/dynamo.ts';
import { createStores } from '../shared/stores/index.ts';
import { UnsubscribeService } from '../shared/unsubscribe.ts';

/**
 * Built once per Lambda execution environment, on first use: the config (with the token keys from
 * Secrets Manager), the DynamoDB client and the services. Handlers stay thin.
 */
let wired: ReturnType<typeof wire> | undefined;

async function wire() {
  // The config is bundled into the code at build time (esbuild `define` of this very expression):
  // a Lambda's environment holds at most 4 KB, and one footer template can take that alone.
  const config = await loadRuntimeConfig({ ...process.env, FAIRSEND_CONFIG_JSON: process.env.FAIRSEND_CONFIG_JSON });
  const log = createLogger();
  const db = createDynamoClient(config.dynamodb);
  const stores = createStores(db, config.dynamodb.tables, retentionOf(config));
  const { oppositions, sendLog } = stores;
  return {
    config,
    log,
    console: new ConsoleService(config, stores),
    consoleAuth: new ConsoleAuth(stores.admin),
    unsubscribe: new UnsubscribeService(config, oppositions),
    feedback: new FeedbackProcessor(config, oppositions, sendLog, log),
  };
}

export function wiring(): ReturnType<typeof wire> {
  wired ??= wire();
  wired.catch(() => {
    wired = undefined; // a failed cold start is retried on the next invocation
  });
  return wired;
}
