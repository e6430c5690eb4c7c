/**
 * The floor under Fairsend's design, for the benchmark: smtp-server with the relay's TLS and AUTH
 * steps, making per message the same AWS requests as the relay, built by the relay's own store
 * code, and nothing else. At each RCPT one BatchGetItem: the opposition read (the address, its
 * base address, their erased forms, its domains) and the contact record; at the end of DATA one
 * BatchGetItem across two tables (idempotency, the opposition re-check), one SendEmail per
 * recipient with the message as it came (no MIME work, no footer, no token; built and signed
 * while that read is in flight, as the relay does) and the send log's batched write
 * (`recordMany`: the same three items per copy); then 250. No policy, no parsing, no copies. What
 * the relay costs above this is Fairsend's own work; this itself is what any relay of this design
 * pays in Node.
 *
 * Reads the configuration like the relay process (FAIRSEND_PROCESS_CONFIG, FAIRSEND_TLS_*);
 * prints its port as JSON on stdout.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { SMTPServerOptions } from 'smtp-server';
import { SesV2Sender } from '../../proxy/ses-sender.ts';
import { normaliseAddress } from '../../shared/address.ts';
import { parseConfig } from '../../shared/config.ts';
import { matchingFor } from '../../shared/rules/opposition.ts';
import { createDynamoClient } from '../../shared/stores/dynamo.ts';
import { createStores } from '../../shared/stores/index.ts';
import { listenForBench, submissionServer } from './baseline-server.ts';

const config = parseConfig(JSON.parse(process.env.FAIRSEND_PROCESS_CONFIG ?? '{}'), 'floor process config');
const stores = createStores(createDynamoClient(config.dynamodb), config.dynamodb.tables);
const ses = new SesV2Sender(config.ses);
const CONTROLLER = 'acme';
const matching = matchingFor(config.controllers[CONTROLLER]!, config.privacy.erasureKey);

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
    const recipient = normaliseAddress(address.address);
    if (!recipient) return callback(Object.assign(new Error('5.1.3 bad address'), { responseCode: 501 }));
    stores
      .read([
        stores.oppositions.findBlockingRequest(CONTROLLER, [recipient], matching),
        stores.contacts.getManyRequest(CONTROLLER, [recipient.address]),
      ] as const)
      .then(
        () => callback(),
        (err: Error) => callback(Object.assign(new Error(`4.4.3 ${err.message}`), { responseCode: 451 })),
      );
  },
  onData: (stream, session, callback) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => {
      const raw = Buffer.concat(chunks);
      const recipients = session.envelope.rcptTo.flatMap((r) => normaliseAddress(r.address) ?? []);
      const key = createHash('sha256').update(raw).digest('base64url');
      deliver(raw, recipients, key, session.user ?? 'x').then(
        (n) => callback(null, `Ok: ${n} copies sent`),
        (err: Error) => callback(Object.assign(new Error(`4.3.0 ${err.message}`), { responseCode: 451 })),
      );
    });
  },
};

async function deliver(
  raw: Buffer,
  recipients: NonNullable<ReturnType<typeof normaliseAddress>>[],
  key: string,
  user: string,
): Promise<number> {
  const addresses = recipients.map((r) => r.address);
  const reading = stores.read([
    stores.sendLog.alreadySentRequest(key, addresses, new Date(Date.now() - 24 * 3600_000)),
    stores.oppositions.findBlockingRequest(CONTROLLER, recipients, matching),
  ] as const);
  // As the relay does: the SES requests built and signed in the next turn, once the read has
  // left, while it is in flight.
  const copies = await nextTurn().then(() =>
    addresses.map((recipient) => {
      const copy = { recipient, from: 'alice@acme.example', parts: [raw], tags: { controller: CONTROLLER } };
      const prepared = ses.prepare(copy);
      return prepared ? { ...copy, prepared } : copy;
    }),
  );
  await reading;
  const ids = await Promise.all(copies.map((copy) => ses.send(copy)));
  const at = new Date().toISOString();
  await stores.sendLog.recordMany(
    ids.map((sesMessageId, i) => ({
      controller: CONTROLLER,
      purpose: 'prospection',
      user,
      recipient: addresses[i]!,
      at,
      sesMessageId,
      copyId: randomBytes(9).toString('base64url'),
      messageId: `<${key}@floor.example>`,
      idempotencyKey: key,
    })),
  );
  return ids.length;
}

listenForBench(submissionServer(options, 0));
