import { join } from 'node:path';
import { ConfigError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/log.ts';
import { sendDemoTraffic } from './demo-traffic.ts';
import { dataDir, loadLocalConfig, saveLocalSecrets } from './local-config.ts';
import { startLocalStack } from './stack.ts';
import { configuredCertificate, localCertificate } from './tls.ts';

/** `npm start`: the whole gateway on loopback, on embedded stand-ins, with a banner. */
async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const dir = dataDir();
  const { config, file, secrets } = await loadLocalConfig();
  const tls = config.smtp.tls ? configuredCertificate(config.smtp.tls) : await localCertificate(join(dir, 'tls'));
  const log = createLogger();
  const stack = await startLocalStack({ config, tls, dataDir: dir, log });

  // No default password: the first start makes an admin account with a random one, shown below.
  let demo = '';
  if (!(await stack.stores.admin.anyAccount())) {
    const password = await stack.console.createAdmin(
      { name: 'npm start', role: 'admin', via: 'cli' },
      'admin',
      'admin',
    );
    secrets.consoleAdmin = { name: 'admin', password };
    saveLocalSecrets(secrets);
    const [user, credentials] = Object.entries(secrets.smtpUsers)[0] ?? [];
    if (process.env.FAIRSEND_DEMO_DATA !== '0' && user && credentials && config.smtpUsers[user]) {
      const sent = await sendDemoTraffic(stack, { user, password: credentials.password }, tls.cert);
      demo = `  Demo data         ${sent} messages sent through the relay as "${user}" on this first start (FAIRSEND_DEMO_DATA=0 skips it)`;
    }
  }
  const consoleUrl = `http://${stack.http.address}:${stack.http.port}/admin`;
  const smtpHost = stack.smtp.starttls.address;
  const users = Object.entries(secrets.smtpUsers)
    .filter(([user]) => config.smtpUsers[user])
    .map(([user, c]) => `    user ${user}   password ${c.password}`);
  const banner = [
    '',
    'Fairsend is running (local stack, loopback only)',
    '',
    `  SMTP submission   ${smtpHost}:${stack.smtp.starttls.port} (STARTTLS)   ${smtpHost}:${stack.smtp.implicitTls.port} (implicit TLS)`,
    '  SMTP credentials (AUTH PLAIN/LOGIN, over TLS only):',
    ...(users.length > 0 ? users : ['    (passwords come from your config file)']),
    `  TLS certificate   ${tls.certFile}${config.smtp.tls ? '' : ' (self-signed, made on first start)'}`,
    `  Admin console     ${consoleUrl}`,
    secrets.consoleAdmin
      ? `    account ${secrets.consoleAdmin.name}   password ${secrets.consoleAdmin.password}   (as first made; more with: npm run fairsend -- admin create <name>)`
      : '    (log in with an account made by: npm run fairsend -- admin create <name>)',
    ...(demo ? [demo] : []),
    `  Sent mail (SES)   ${stack.outboxUrl ?? '(real SES)'}`,
    `  HTTP              http://${stack.http.address}:${stack.http.port} (unsubscribe links /u/…, POST /local/inbound-mail)`,
    `  DynamoDB          ${stack.config.dynamodb.endpoint} (data in ${join(dir, 'dynamodb')})`,
    `  Config file       ${file}`,
    '',
    '  Try: npm run fairsend -- oppose someone@example.org   then send to them with swaks (see README).',
    '  Ctrl-C stops; data is kept in .data/ for the next start.',
    '',
  ].join('\n');
  process.stdout.write(`${banner}\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping (transactions under way may finish)...\n`);
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    const e = err as NodeJS.ErrnoException & { port?: number };
    process.stderr.write(
      `cannot start: port ${e.port ?? ''} is already in use (is another "npm start" running?). Change the port in your config file or stop the other process.\n`,
    );
  } else {
    process.stderr.write(`cannot start: ${(err as Error).stack ?? String(err)}\n`);
  }
  process.exit(1);
});
