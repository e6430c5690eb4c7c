import type { SESEvent } from 'aws-lambda';
import { wiring } from '../wiring.ts';
import { createMailtoUnsubscribeHandler } from './handler.ts';

let handle: ReturnType<typeof createMailtoUnsubscribeHandler> | undefined;

export const handler = async (event: SESEvent) => {
  const { unsubscribe, log } = await wiring();
  handle ??= createMailtoUnsubscribeHandler(unsubscribe, log);
  return handle(event);
};
