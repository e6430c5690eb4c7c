import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { wiring } from '../wiring.ts';
import { createAdminHandler } from './handler.ts';

let handle: ReturnType<typeof createAdminHandler> | undefined;

/** The `admin` Lambda: the console and its JSON API behind the HTTP API's `/admin` routes. */
export const handler = async (event: APIGatewayProxyEventV2) => {
  const { config, log, console: service, consoleAuth } = await wiring();
  handle ??= createAdminHandler({ service, auth: consoleAuth, log, origin: new URL(config.http.publicBaseUrl).origin });
  return handle(event);
};
