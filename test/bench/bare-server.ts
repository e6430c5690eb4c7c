/**
 * The baseline: smtp-server with the same TLS and AUTH steps as the relay, that accepts any login
 * and discards every message. `--greeting-delay 100` is smtp-server as shipped; 0 is the same
 * framework with the delay removed as the relay does. Prints its port as JSON on stdout.
 */
import { readFileSync } from 'node:fs';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { listenForBench, submissionServer } from './baseline-server.ts';

const delay = Number(process.argv[process.argv.indexOf('--greeting-delay') + 1] ?? 0);
const options: SMTPServerOptions = {
  key: readFileSync(process.env.FAIRSEND_TLS_KEY!),
  cert: readFileSync(process.env.FAIRSEND_TLS_CERT!),
  authMethods: ['PLAIN', 'LOGIN'],
  authOptional: false,
  size: 40 * 1024 * 1024,
  maxClients: 5000,
  disableReverseLookup: true,
  logger: false,
  onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'x' }),
  onData: (stream, _session, callback) => {
    stream.on('data', () => undefined);
    stream.once('end', () => callback(null, 'Ok: discarded'));
  },
};
if (delay === 100) listenForBench(new SMTPServer(options));
else listenForBench(submissionServer(options, delay));
