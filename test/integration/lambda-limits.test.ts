import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpApiRoute, MAX_LAMBDA_RESPONSE_BYTES } from '../../infra/local/api-gateway.ts';
import { LocalHttpServer } from '../../infra/local/http-server.ts';
import type { LocalStack } from '../../infra/local/stack.ts';
import { createAdminHandler, SESSION_COOKIE } from '../../lambdas/admin/handler.ts';
import { ConsoleAuth } from '../../shared/console/auth.ts';
import { silentLogger } from '../../shared/log.ts';
import { startTestStack } from '../helpers/stack.ts';

/**
 * What AWS would refuse, refused locally too: a Lambda response over 6 MB never reaches the
 * client, so the console answers an export too large for one download with a clear error.
 */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('Lambda limits', () => {
  it('answers 502 locally, as API Gateway does, for a function response over 6 MB', async () => {
    const server = new LocalHttpServer({ contentTypes: {} });
    server.route(
      'GET',
      /^\/big$/,
      httpApiRoute('GET /big', [], async () => ({ statusCode: 200, body: 'x'.repeat(MAX_LAMBDA_RESPONSE_BYTES + 1) })),
    );
    server.route(
      'GET',
      /^\/fits$/,
      httpApiRoute('GET /fits', [], async () => ({ statusCode: 200, body: 'x'.repeat(1000) })),
    );
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      expect((await fetch(`http://127.0.0.1:${port}/big`)).status).toBe(502);
      expect((await fetch(`http://127.0.0.1:${port}/fits`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('refuses a CSV export larger than one response with what to do instead, and serves one that fits', async () => {
    await stack.console.createAdmin(
      { name: 'test', role: 'admin', via: 'cli' },
      'exporter',
      'admin',
      'exporter-password-123',
    );
    const auth = new ConsoleAuth(stack.stores.admin);
    const login = await auth.login('exporter', 'exporter-password-123', '127.0.0.1');
    if (!login.ok) throw new Error('login failed');
    const event = (path: string) =>
      ({
        rawPath: path,
        rawQueryString: '',
        headers: { host: '127.0.0.1' },
        cookies: [`${SESSION_COOKIE}=${login.id}`],
        requestContext: { http: { method: 'GET', sourceIp: '127.0.0.1' }, domainName: '127.0.0.1' },
        isBase64Encoded: false,
      }) as unknown as APIGatewayProxyEventV2;
    const handler = (maxExportBytes: number) =>
      createAdminHandler({
        service: stack.console,
        auth,
        log: silentLogger,
        origin: 'http://127.0.0.1',
        maxExportBytes,
      });
    const small = await handler(50)(event('/admin/audit.csv'));
    expect(small.statusCode).toBe(400);
    expect(small.body).toContain('this export is larger than one download can be (6 MB)');
    const fits = await handler(1_000_000)(event('/admin/audit.csv'));
    expect(fits.statusCode).toBe(200);
    expect(fits.body).toContain('admin-account.create');
  });
});
