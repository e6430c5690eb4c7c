import type { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_RETENTION, type Retention } from '../retention.ts';
import { AdminStore } from './admin.ts';
import { AuditTrail } from './audit.ts';
import { type BlockedSendLog, DynamoBlockedSendLog } from './blocked-sends.ts';
import { type ContactStore, DynamoContactStore } from './contacts.ts';
import { batchRead, queryAll, type ReadRequest, type TableNames } from './dynamo.ts';
import { DynamoFleetRegistry, type FleetRegistry } from './fleet.ts';
import { DynamoOppositionList, type OppositionList } from './opposition-list.ts';
import { PersonDataStore } from './person-data.ts';
import { DynamoSendLog, type SendLog } from './send-log.ts';
import { storeError } from './store-error.ts';

/** Every store, wired to its table: the one place the relay, the Lambdas, the CLI and the local stack get them. */
export interface Stores {
  oppositions: OppositionList;
  blockedSends: BlockedSendLog;
  sendLog: SendLog;
  contacts: ContactStore;
  fleet: FleetRegistry;
  admin: AdminStore;
  audit: AuditTrail;
  person: PersonDataStore;
  /** Every item of one Query (reports over a controller's data: the register's figures). */
  query(input: ConstructorParameters<typeof QueryCommand>[0]): Promise<Record<string, unknown>[]>;
  /** Reads of several stores in one BatchGetItem; a service failure is a StoreUnavailableError. */
  read<const R extends readonly ReadRequest<unknown>[]>(requests: R): ReturnType<typeof batchRead<R>>;
}

export function createStores(db: DynamoDBDocumentClient, tables: TableNames, retention: Retention = DEFAULT_RETENTION) {
  return {
    oppositions: new DynamoOppositionList(db, tables.oppositions),
    blockedSends: new DynamoBlockedSendLog(db, tables.blockedSends, retention),
    sendLog: new DynamoSendLog(db, tables.sendLog, retention),
    contacts: new DynamoContactStore(db, tables.contacts, retention),
    fleet: new DynamoFleetRegistry(db, tables.sendLog),
    admin: new AdminStore(db, tables.admin),
    audit: new AuditTrail(db, tables.audit, retention),
    person: new PersonDataStore(db, tables),
    query: async (input: ConstructorParameters<typeof QueryCommand>[0]) => {
      try {
        return await queryAll(db, input);
      } catch (err) {
        throw storeError('query', err);
      }
    },
    read: async <const R extends readonly ReadRequest<unknown>[]>(requests: R) => {
      try {
        return await batchRead(db, requests);
      } catch (err) {
        throw storeError('batch read', err);
      }
    },
  } satisfies Stores;
}
