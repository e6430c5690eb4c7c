import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startDynamoStandIn } from '../../infra/local/dynamodb-stand-in.ts';
import { SesStandIn } from '../../infra/local/ses-stand-in.ts';
import type { FairsendConfig } from '../../shared/config.ts';
import { createDynamoClient, type DynamoUsage, ensureTables } from '../../shared/stores/dynamo.ts';
import { testConfig } from './config.ts';

/** DynamoDB (dynalite) and the SES stand-in in this process, for a relay running in another. */
export interface Services {
  config: FairsendConfig;
  ses: SesStandIn;
  stop(): Promise<void>;
}

export async function startServices(base: FairsendConfig, options: { keepMessages?: boolean } = {}): Promise<Services> {
  const dynamo = await startDynamoWithTables(base.dynamodb);
  const ses = new SesStandIn(undefined, { keepMessages: options.keepMessages ?? true, region: base.ses.region });
  const sesPort = (await ses.listen()).port;
  const config: FairsendConfig = {
    ...base,
    dynamodb: dynamo.config,
    ses: { ...base.ses, endpoint: `http://127.0.0.1:${sesPort}` },
  };
  return {
    config,
    ses,
    stop: async () => {
      await ses.close();
      await dynamo.stop();
    },
  };
}

/**
 * The signature-checking DynamoDB stand-in with Fairsend's tables (as `base` names them; the test
 * configuration's by default), and a client on it (counting its requests in `usage`).
 */
export async function startDynamoWithTables(
  base?: FairsendConfig['dynamodb'],
  usage?: DynamoUsage,
): Promise<{
  config: FairsendConfig['dynamodb'];
  db: DynamoDBDocumentClient;
  stop(): Promise<void>;
}> {
  base ??= (await testConfig()).dynamodb;
  const standIn = await startDynamoStandIn({ region: base.region });
  const config = { ...base, endpoint: standIn.endpoint };
  const db = createDynamoClient(config, usage);
  await ensureTables(db, config.tables);
  return {
    config,
    db,
    stop: async () => {
      db.destroy();
      await standIn.close();
    },
  };
}
