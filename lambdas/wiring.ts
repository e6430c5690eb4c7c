import { loadConfig } from '../shared/config.ts';
import { FeedbackProcessor } from '../shared/feedback.ts';
import { createLogger } from '../shared/log.ts';
import { createDynamoClient } from '../shared/stores/dynamo.ts';
import { DynamoOppositionList } from '../shared/stores/opposition-list.ts';
import { DynamoSendLog } from '../shared/stores/send-log.ts';
import { UnsubscribeService } from '../shared/unsubscribe.ts';

/**
 * Built once per Lambda execution environment, on first use: the config (the file the CDK app
 * bundles, `FAIRSEND_CONFIG`, with secrets from `FAIRSEND__…` variables), the DynamoDB client
 * and the services. Handlers stay thin.
 */
let wired: ReturnType<typeof wire> | undefined;

function wire() {
  const config = loadConfig(process.env.FAIRSEND_CONFIG ?? 'fairsend.json');
  const log = createLogger();
  const db = createDynamoClient(config.dynamodb);
  const oppositions = new DynamoOppositionList(db, config.dynamodb.tables.oppositions);
  const sendLog = new DynamoSendLog(db, config.dynamodb.tables.sendLog);
  return {
    config,
    log,
    unsubscribe: new UnsubscribeService(config, oppositions),
    feedback: new FeedbackProcessor(config, oppositions, sendLog, log),
  };
}

export function wiring(): ReturnType<typeof wire> {
  wired ??= wire();
  return wired;
}
