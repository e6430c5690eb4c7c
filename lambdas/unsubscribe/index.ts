import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { wiring } from '../wiring.ts';
import { createUnsubscribeHandler } from './handler.ts';

let handle: ReturnType<typeof createUnsubscribeHandler> | undefined;

export const handler = async (event: APIGatewayProxyEventV2) => {
  const { unsubscribe, log } = await wiring();
  handle ??= createUnsubscribeHandler(unsubscribe, log);
  return handle(event);
};
