import type { SNSEvent, SQSEvent } from 'aws-lambda';
import { wiring } from '../wiring.ts';
import { createSesEventsHandler } from './handler.ts';

let handle: ReturnType<typeof createSesEventsHandler> | undefined;

export const handler = async (event: SNSEvent | SQSEvent) => {
  const { feedback, log } = await wiring();
  handle ??= createSesEventsHandler(feedback, log);
  return handle(event);
};
