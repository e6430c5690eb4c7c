import type { LocalStack } from '../../infra/local/stack.ts';
import { plainMessage } from './messages.ts';
import { sendWithNodemailer } from './smtp.ts';

/** Sends one message through the relay and returns the unsubscribe token of that recipient's copy. */
export async function sendAndGetToken(
  stack: LocalStack,
  address: string,
  extraHeaders: string[] = [],
): Promise<string> {
  await sendWithNodemailer(stack, { from: 'alice@acme.example', to: [address], raw: plainMessage({ extraHeaders }) });
  const copy = stack.ses!.messages.filter((m) => m.destination[0] === address).at(-1);
  const token = copy && /^List-Unsubscribe: <https:\/\/[^/]+\/u\/([\w.-]+)>/m.exec(copy.raw.toString('latin1'))?.[1];
  if (!token) throw new Error(`no List-Unsubscribe token in the copy sent to ${address}`);
  return token;
}
