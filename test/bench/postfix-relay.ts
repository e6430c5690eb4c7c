import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CpuMeter, cpuMeter } from './cpu.ts';

/**
 * The system a company would run instead of Fairsend: Postfix relaying to SES, as AWS documents it
 * ("Integrating Amazon SES with Postfix"), with the submission side a mail tool needs: STARTTLS,
 * then Cyrus SASL AUTH (sasldb) and nothing relayed without it. Its relayhost is Postfix's
 * smtp-sink, standing in for SES's SMTP endpoint as the SES stand-in does for Fairsend.
 *
 * A private instance: its own config and queue directories under /tmp, every daemon out of
 * chroot, logging to a file (postlogd), in a cgroup of its own so that every process it forks is
 * counted. Needs root (Postfix's master runs as root) and the Debian packages postfix and sasl2-bin,
 * which `installPostfix()` adds when they are missing.
 */
export interface PostfixRelay {
  port: number;
  cpu: CpuMeter;
  /** Copies Postfix has handed to the relayhost so far ("status=sent" in its log). */
  delivered(): number;
  /** Messages still in the queue (incoming, active, deferred). */
  queued(): number;
  /** Resolves once the queue is empty (or after `timeoutMs`, with false). */
  drained(timeoutMs?: number): Promise<boolean>;
  stop(): Promise<void>;
}

export function installPostfix(log: (line: string) => void): boolean {
  const have = () => existsSync('/usr/sbin/postfix') && existsSync('/usr/sbin/saslpasswd2');
  if (have()) return true;
  if (process.getuid?.() !== 0 || process.env.BENCH_NO_INSTALL === '1') return false;
  log('installing Postfix and Cyrus SASL (apt-get, "No configuration")...');
  spawnSync(
    'bash',
    [
      '-c',
      'echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix sasl2-bin libsasl2-modules',
    ],
    { stdio: 'ignore' },
  );
  return have();
}

export async function startPostfixRelay(options: {
  port: number;
  relayPort: number;
  tls: { keyFile: string; certFile: string };
  user: string;
  password: string;
  /**
   * The relayhost's login: Postfix then sends as AWS's guide has it (STARTTLS required, SASL AUTH),
   * as SES's SMTP endpoint requires. Without it, plain text to a relayhost that speaks neither.
   * `reuse`: Postfix at its best, keeping its encrypted, authenticated connection to the relayhost
   * for the next messages (`smtp_tls_connection_reuse` through tlsproxy, the relayhost's
   * connections always cached); by default, and in the guide, each delivery opens a TLS session.
   */
  relayLogin?: { user: string; password: string; reuse?: boolean };
}): Promise<PostfixRelay> {
  const dir = mkdtempSync(join(tmpdir(), 'fairsend-bench-postfix-'));
  chmodSync(dir, 0o755);
  const etc = join(dir, 'etc');
  const queue = join(dir, 'queue');
  const data = join(dir, 'data');
  for (const d of [etc, queue, data, join(etc, 'sasl')]) mkdirSync(d, { recursive: true });
  const postfixUid = Number(spawnSync('id', ['-u', 'postfix']).stdout.toString().trim());
  chownSync(data, postfixUid, 0);
  cpSync(options.tls.keyFile, join(etc, 'key.pem'));
  cpSync(options.tls.certFile, join(etc, 'cert.pem'));
  const maillog = join(dir, 'maillog');

  // Debian's master.cf, every service out of chroot (the queue is not a chroot jail here), smtpd
  // on the bench's port only.
  const master = readFileSync('/etc/postfix/master.cf', 'utf8')
    .split('\n')
    .map((line) => line.replace(/^([a-z-]+ +(?:inet|unix|unix-dgram|fifo|pass) +[-yn] +[-yn] +)y/, '$1n'))
    .map((line) => (/^smtp +inet /.test(line) ? `127.0.0.1:${options.port} inet n - n - - smtpd` : line))
    // The TLS proxy that lets the smtp client keep an encrypted connection for the next message.
    .map((line) =>
      options.relayLogin?.reuse && /^#tlsproxy /.test(line)
        ? line.slice(1).replace(/ y( +- +0 +tlsproxy)/, ' n$1')
        : line,
    )
    .join('\n');
  writeFileSync(join(etc, 'master.cf'), master);
  writeFileSync(
    join(etc, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${queue}`,
      `data_directory = ${data}`,
      'mail_owner = postfix',
      'myhostname = bench.localdomain',
      // Nothing is delivered locally: every recipient goes to the relayhost.
      'mydestination =',
      'local_recipient_maps =',
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      `relayhost = [127.0.0.1]:${options.relayPort}`,
      // Submission: TLS offered, AUTH only after STARTTLS, relaying only for authenticated clients.
      `smtpd_tls_cert_file = ${join(etc, 'cert.pem')}`,
      `smtpd_tls_key_file = ${join(etc, 'key.pem')}`,
      'smtpd_tls_security_level = may',
      'smtpd_tls_auth_only = yes',
      'smtpd_sasl_auth_enable = yes',
      'smtpd_sasl_type = cyrus',
      'smtpd_sasl_path = smtpd',
      'smtpd_relay_restrictions = permit_sasl_authenticated, reject',
      'message_size_limit = 52428800',
      // The load comes from one address: no per-client limits in the way (as for Fairsend).
      'smtpd_client_connection_count_limit = 0',
      'smtpd_client_connection_rate_limit = 0',
      'default_process_limit = 200',
      `maillog_file_prefixes = ${dir}`,
      `maillog_file = ${maillog}`,
      ...(options.relayLogin
        ? [
            'smtp_sasl_auth_enable = yes',
            'smtp_sasl_security_options = noanonymous',
            `smtp_sasl_password_maps = static:${options.relayLogin.user}:${options.relayLogin.password}`,
            'smtp_tls_security_level = encrypt',
            'smtp_tls_note_starttls_offer = yes',
            ...(options.relayLogin.reuse
              ? [
                  'smtp_tls_connection_reuse = yes',
                  `smtp_connection_cache_destinations = [127.0.0.1]:${options.relayPort}`,
                ]
              : []),
          ]
        : []),
      '',
    ].join('\n'),
  );
  // Debian's Postfix reads the Cyrus SASL application file from $config_directory/sasl.
  writeFileSync(
    join(etc, 'sasl', 'smtpd.conf'),
    `pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: ${join(dir, 'sasldb2')}\n`,
  );
  const sasl = spawnSync(
    'saslpasswd2',
    ['-p', '-c', '-f', join(dir, 'sasldb2'), '-u', 'bench.localdomain', options.user],
    {
      input: options.password,
    },
  );
  if (sasl.status !== 0) throw new Error(`saslpasswd2 failed: ${sasl.stderr}`);
  chownSync(join(dir, 'sasldb2'), postfixUid, 0);

  // Creates the queue's directories with their owners and modes.
  const check = spawnSync('/usr/sbin/postfix', ['-c', etc, 'check']);
  if (check.status !== 0) throw new Error(`postfix check failed: ${check.stderr}`);
  const cpu = cpuMeter(`postfix-${options.port}`);
  // start-fg keeps master in this process tree; the shell joins the cgroup first, so every
  // daemon master forks is counted.
  const join$ = cpu.procsFile ? `echo $$ > ${cpu.procsFile} && ` : '';
  const proc = spawn('sh', ['-c', `${join$}exec /usr/sbin/postfix -c ${etc} start-fg`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  if (!cpu.procsFile) cpu.add(proc.pid!);
  for (let i = 0; i < 100 && !readLog(maillog).includes('daemon started'); i++) {
    if (proc.exitCode !== null) throw new Error(`Postfix exited: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  let stopped = false;
  const queued = () =>
    ['incoming', 'active', 'deferred', 'maildrop']
      .map((q) => join(queue, q))
      .filter(existsSync)
      .reduce((n, q) => n + countFiles(q), 0);
  return {
    port: options.port,
    cpu,
    delivered: () => readLog(maillog).split('status=sent').length - 1,
    queued,
    drained: async (timeoutMs = 120_000) => {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        if (queued() === 0) return true;
        await new Promise((r) => setTimeout(r, 20));
      }
      return false;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      spawnSync('/usr/sbin/postfix', ['-c', etc, 'stop']);
      await new Promise((r) => (proc.exitCode === null ? proc.once('exit', r) : r(undefined)));
      cpu.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return '';
  }
}

function countFiles(dir: string): number {
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    n += entry.isDirectory() ? countFiles(join(dir, entry.name)) : 1;
  return n;
}
