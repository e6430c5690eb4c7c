/**
 * The floor under Fairsend's design, for the benchmark: smtp-server with the relay's TLS and AUTH
 * steps, making per message the same AWS round trips as the relay, through the same client code,
 * and nothing else. At each RCPT one BatchGetItem of the oppositions table (the check at RCPT); at
 * the end of DATA one BatchGetItem (contacts and idempotency), one SendEmail per recipient with
 * the message as it came (no MIME work, no footer, no token) and one BatchWriteItem (a send-log
 * item per copy); then 250. No policy, no parsing, no copies. What the relay costs above this is
 * Fairsend's own work; this itself is what any relay of this design pays in Node.
 *
 * Reads the configuration like the relay process (FAIRSEND_PROCESS_CONFIG, FAIRSEND_TLS_*);
 * prints its port as JSON on stdout.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BatchGetCommand, BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { SMTPServerOptions } from 'smtp-server';
import { SesV2Sender } from '../../proxy/ses-sender.ts';
import { parseConfig } from '../../shared/config.ts';
import { createDynamoClient } from '../../shared/stores/dynamo.ts';
import { listenForBench, submissionServer } from './baseline-server.ts';

const config = parseConfig(JSON.parse(process.env.FAIRSEND_PROCESS_CONFIG ?? '{}'), 'floor process config');
const db = createDynamoClient(config.dynamodb);
const ses = new SesV2Sender(config.ses);
const { tables } = config.dynamodb;

const options: SMTPServerOptions = {
  key: readFileSync(process.env.FAIRSEND_TLS_KEY!),
  cert: readFileSync(process.env.FAIRSEND_TLS_CERT!),
  authMethods: ['PLAIN', 'LOGIN'],
  authOptional: false,
  size: config.smtp.maxMessageBytes,
  maxClients: 5000,
  disableReverseLookup: true,
  logger: false,
  onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'x' }),
  onRcptTo: (address, _session, callback) => {
    const recipient = address.address.toLowerCase();
    const domain = recipient.slice(recipient.lastIndexOf('@') + 1);
    db.send(
      new BatchGetCommand({
        RequestItems: {
          [tables.oppositions]: {
            Keys: [
              { pk: 'acme', sk: `address#${recipient}` },
              { pk: 'acme', sk: `domain#${domain}` },
            ],
          },
        },
      }),
    ).then(
      () => callback(),
      (err: Error) => callback(Object.assign(new Error(`4.4.3 ${err.message}`), { responseCode: 451 })),
    );
  },
  onData: (stream, session, callback) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => {
      const raw = Buffer.concat(chunks);
      const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
      const key = createHash('sha256').update(raw).digest('base64url');
      deliver(raw, recipients, key).then(
        (n) => callback(null, `Ok: ${n} copies sent`),
        (err: Error) => callback(Object.assign(new Error(`4.3.0 ${err.message}`), { responseCode: 451 })),
      );
    });
  },
};

async function deliver(raw: Buffer, recipients: string[], key: string): Promise<number> {
  await db.send(
    new BatchGetCommand({
      RequestItems: {
        [tables.contacts]: { Keys: recipients.map((r) => ({ pk: 'acme', sk: `contact#${r}` })) },
        [tables.sendLog]: { Keys: [{ pk: `idem#${key}`, sk: 'idem' }] },
      },
    }),
  );
  const ids = await Promise.all(
    recipients.map((recipient) =>
      ses.send({ recipient, from: 'alice@acme.example', parts: [raw], tags: { controller: 'acme' } }),
    ),
  );
  const at = new Date().toISOString();
  const items = ids.map((id, i) => ({
    PutRequest: {
      Item: { pk: `copy#${key}`, sk: recipients[i]!, sesId: id, at, copyId: randomBytes(9).toString('hex') },
    },
  }));
  for (let i = 0; i < items.length; i += 25) {
    await db.send(new BatchWriteCommand({ RequestItems: { [tables.sendLog]: items.slice(i, i + 25) } }));
  }
  return ids.length;
}

listenForBench(submissionServer(options, 0));
