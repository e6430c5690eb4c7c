import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createAdminHandler } from '../../lambdas/admin/handler.ts';
import { createMailtoUnsubscribeHandler } from '../../lambdas/mailto-unsubscribe/handler.ts';
import { createSesEventsHandler } from '../../lambdas/ses-events/handler.ts';
import { createUnsubscribeHandler } from '../../lambdas/unsubscribe/handler.ts';
import { startFleetRate } from '../../proxy/fleet-rate.ts';
import { Relay, type RelayAddresses } from '../../proxy/relay.ts';
import { SesV2Sender } from '../../proxy/ses-sender.ts';
import type { FairsendConfig } from '../../shared/config.ts';
import { ConsoleAuth } from '../../shared/console/auth.ts';
import { ConsoleService } from '../../shared/console/service.ts';
import { FeedbackProcessor } from '../../shared/feedback.ts';
import { createLogger, type Logger } from '../../shared/log.ts';
import { retentionOf } from '../../shared/retention.ts';
import { createDynamoClient, DynamoUsage, ensureTables } from '../../shared/stores/dynamo.ts';
import { createStores } from '../../shared/stores/index.ts';
import { purgeExpired } from '../../shared/stores/retention-sweep.ts';
import { UnsubscribeService } from '../../shared/unsubscribe.ts';
import { httpApiRoute } from './api-gateway.ts';
import { startDynamoStandIn } from './dynamodb-stand-in.ts';
import { LocalHttpServer } from './http-server.ts';
import { inboundMailRoute } from './inbound-mail.ts';
import { MailboxSimulator } from './mailbox-simulator.ts';
import { SesStandIn } from './ses-stand-in.ts';

export interface LocalStackOptions {
  config: FairsendConfig;
  tls: { key: string | Buffer; cert: string | Buffer };
  /** Where dynalite and the SES outbox persist; in memory when absent. */
  dataDir?: string;
  /** 'embedded' starts dynalite; 'external' uses config.dynamodb.endpoint as it is. */
  dynamodb?: 'embedded' | 'external';
  /** 'embedded' starts the SES stand-in; 'external' uses config.ses.endpoint as it is. */
  ses?: 'embedded' | 'external';
  log?: Logger;
  /** How often the local purge of expired items runs (DynamoDB's TTL in AWS). */
  purgeEveryMinutes?: number;
}

export interface LocalStack {
  config: FairsendConfig;
  smtp: RelayAddresses;
  http: AddressInfo;
  /** Where a person looks at what was sent. */
  outboxUrl: string | undefined;
  ses: SesStandIn | undefined;
  db: DynamoDBDocumentClient;
  /** DynamoDB requests and units the stack has used. */
  dynamoUsage: DynamoUsage;
  stores: ReturnType<typeof createStores>;
  httpServer: LocalHttpServer;
  relay: Relay;
  /** The ses-events Lambda handler, as SNS would invoke it. */
  sesEvents: ReturnType<typeof createSesEventsHandler>;
  /** The console's service layer (what the console, its API and the CLI call). */
  console: ConsoleService;
  /** Runs the local purge of expired items now (it also runs at start and every hour). */
  purge(): Promise<Record<string, number>>;
  simulator: MailboxSimulator | undefined;
  stop(): Promise<void>;
}

function portOf(endpoint: string | undefined): number {
  return endpoint ? Number(new URL(endpoint).port || 80) : 0;
}

/**
 * Starts Fairsend on one machine: dynalite for DynamoDB, the SES stand-in, the SMTP relay and
 * the HTTP server. `npm start` and the integration tests run this same function.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? createLogger();
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    let config = structuredClone(options.config);

    if ((options.dynamodb ?? 'embedded') === 'embedded') {
      const dynamo = await startDynamoStandIn({
        region: config.dynamodb.region,
        port: portOf(config.dynamodb.endpoint),
        ...(options.dataDir ? { path: join(options.dataDir, 'dynamodb') } : {}),
      });
      cleanups.push(() => dynamo.close());
      config = { ...config, dynamodb: { ...config.dynamodb, endpoint: dynamo.endpoint } };
    }

    let ses: SesStandIn | undefined;
    if ((options.ses ?? 'embedded') === 'embedded') {
      ses = new SesStandIn(options.dataDir ? join(options.dataDir, 'ses-outbox') : undefined, {
        region: config.ses.region,
      });
      const { port } = await ses.listen(portOf(config.ses.endpoint));
      cleanups.push(() => ses!.close());
      config = { ...config, ses: { ...config.ses, endpoint: `http://127.0.0.1:${port}` } };
    }

    const dynamoUsage = new DynamoUsage();
    const db = createDynamoClient(config.dynamodb, dynamoUsage);
    cleanups.push(async () => db.destroy());
    if ((options.dynamodb ?? 'embedded') === 'embedded') await ensureTables(db, config.dynamodb.tables);

    const stores = createStores(db, config.dynamodb.tables, retentionOf(config));
    // dynalite has no TTL: the local stack deletes expired items itself, at start and every hour.
    const purge = async () => {
      const removed = await purgeExpired(db, config.dynamodb.tables);
      if (Object.keys(removed).length > 0) log.info('retention.purged', removed);
      return removed;
    };
    await purge().catch((err: unknown) => log.warn('retention.purge-failed', { err }));
    const purgeTimer = setInterval(
      () => void purge().catch((err: unknown) => log.warn('retention.purge-failed', { err })),
      (options.purgeEveryMinutes ?? 60) * 60_000,
    );
    purgeTimer.unref();
    cleanups.push(async () => clearInterval(purgeTimer));
    const sender = new SesV2Sender(config.ses);
    cleanups.push(async () => sender.destroy());
    if (config.ses.fleetWide) {
      const fleet = startFleetRate({
        registry: stores.fleet,
        accountRate: config.ses.maxSendRate,
        setRate: (rate) => sender.setRate(rate),
        log,
        intervalMs: config.ses.fleetHeartbeatMs,
      });
      cleanups.push(async () => fleet.stop());
      await fleet.ready;
    }

    const relay = new Relay({ config, tls: options.tls, ...stores, sender, log });
    const smtp = await relay.listen();
    cleanups.push(() => relay.close());

    const httpServer = new LocalHttpServer({
      extraHosts: [new URL(config.http.publicBaseUrl).hostname],
      // The unsubscribe link is POSTed by mailbox providers (RFC 8058): its token is the authorisation.
      openToAnyone: /^\/u\//,
      contentTypes: {
        '/local/inbound-mail': ['message/rfc822'],
        // The console's changes carry its CSRF token; the guard still refuses cross-origin ones.
        '/admin': ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/csv', 'application/json'],
      },
    });
    const unsubscribeService = new UnsubscribeService(config, stores.oppositions);
    const unsubscribe = createUnsubscribeHandler(unsubscribeService, log);
    httpServer.route(
      'POST',
      /^\/local\/inbound-mail$/,
      inboundMailRoute(createMailtoUnsubscribeHandler(unsubscribeService, log)),
    );
    const sesEvents = createSesEventsHandler(
      new FeedbackProcessor(config, stores.oppositions, stores.sendLog, log),
      log,
    );
    const simulator = ses ? new MailboxSimulator(ses, sesEvents, log) : undefined;
    for (const method of ['GET', 'POST']) {
      httpServer.route(method, /^\/u\/([^/]+)$/, httpApiRoute('ANY /u/{token}', ['token'], unsubscribe));
    }
    const consoleService = new ConsoleService(config, stores);
    const consoleAuth = new ConsoleAuth(stores.admin);
    const admin = createAdminHandler({
      service: consoleService,
      auth: consoleAuth,
      log,
      origin: new URL(config.http.publicBaseUrl).origin,
    });
    for (const method of ['GET', 'POST']) {
      httpServer.route(method, /^\/admin(?:\/.*)?$/, httpApiRoute('ANY /admin/{proxy+}', [], admin, 5 * 1024 * 1024));
    }
    const http = await httpServer.listen(config.http.port, config.http.host);
    cleanups.push(() => httpServer.close());

    return {
      config,
      smtp,
      http,
      outboxUrl: ses ? config.ses.endpoint : undefined,
      ses,
      db,
      dynamoUsage,
      stores,
      httpServer,
      relay,
      sesEvents,
      console: consoleService,
      purge,
      simulator,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
