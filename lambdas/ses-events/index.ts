import type { SNSEvent } from 'aws-lambda';
import { wiring } from '../wiring.ts';
import { createSesEventsHandler } from './handler.ts';

let handle: ReturnType<typeof createSesEventsHandler> | undefined;

export const handler = (event: SNSEvent) => {
  const { feedback, log } = wiring();
  handle ??= createSesEventsHandler(feedback, log);
  return handle(event);
};
