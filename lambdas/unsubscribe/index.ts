import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { wiring } from '../wiring.ts';
import { createUnsubscribeHandler } from './handler.ts';

let handle: ReturnType<typeof createUnsubscribeHandler> | undefined;

export const handler = (event: APIGatewayProxyEventV2) => {
  const { unsubscribe, log } = wiring();
  handle ??= createUnsubscribeHandler(unsubscribe, log);
  return handle(event);
};
