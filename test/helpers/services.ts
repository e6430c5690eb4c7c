import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { SesStandIn } from '../../infra/local/ses-stand-in.ts';
import type { FairsendConfig } from '../../shared/config.ts';
import { createDynamoClient, ensureTables } from '../../shared/stores/dynamo.ts';

/** DynamoDB (dynalite) and the SES stand-in in this process, for a relay running in another. */
export interface Services {
  config: FairsendConfig;
  ses: SesStandIn;
  stop(): Promise<void>;
}

export async function startServices(base: FairsendConfig, options: { keepMessages?: boolean } = {}): Promise<Services> {
  const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const ses = new SesStandIn(undefined, { keepMessages: options.keepMessages ?? true });
  const sesPort = (await ses.listen()).port;
  const config: FairsendConfig = {
    ...base,
    dynamodb: { ...base.dynamodb, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    ses: { ...base.ses, endpoint: `http://127.0.0.1:${sesPort}` },
  };
  const db = createDynamoClient(config.dynamodb);
  await ensureTables(db, config.dynamodb.tables);
  db.destroy();
  return {
    config,
    ses,
    stop: async () => {
      await ses.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
