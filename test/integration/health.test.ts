import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack.ts';
import { startHealthServer } from '../../proxy/health.ts';
import { silentLogger } from '../../shared/log.ts';
import { createDynamoClient } from '../../shared/stores/dynamo.ts';
import { createStores } from '../../shared/stores/index.ts';
import { startTestStack } from '../helpers/stack.ts';

/** The load balancer's health check proves the relay can serve: it reads the opposition list. */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('relay health endpoint', () => {
  it('answers 200 when DynamoDB answers, 503 with why when it does not', async () => {
    const up = await startHealthServer(0, stack.stores.oppositions, silentLogger);
    const down = await startHealthServer(
      0,
      createStores(
        createDynamoClient({ ...stack.config.dynamodb, endpoint: 'http://127.0.0.1:9', requestTimeoutMs: 500 }),
        stack.config.dynamodb.tables,
      ).oppositions,
      silentLogger,
    );
    try {
      const ok = await fetch(`http://127.0.0.1:${up.port}/healthz`);
      expect(ok.status).toBe(200);
      const ko = await fetch(`http://127.0.0.1:${down.port}/healthz`);
      expect(ko.status).toBe(503);
      expect(await ko.text()).toMatch(/^opposition list unreadable: /);
      expect((await fetch(`http://127.0.0.1:${up.port}/other`)).status).toBe(404);
    } finally {
      up.server.close();
      down.server.close();
    }
  });
});
