import { performance } from 'node:perf_hooks';
import { RawSmtp } from '../helpers/smtp.ts';

/**
 * The load generator: real SMTP sessions over TCP (STARTTLS + AUTH PLAIN, or plain for Postfix's
 * smtp-sink, which speaks neither), one message per connection or pooled. Latency is measured from
 * the end of DATA (the "." line written) to the reply.
 */
export interface Target {
  name: string;
  port: number;
  secure: boolean;
}

export interface RunResult {
  messages: number;
  errors: number;
  seconds: number;
  latencies: number[];
  /** Each accepted message's end of DATA and reply, in milliseconds since the epoch (to compare with the stand-ins' `Served`). */
  windows: { from: number; to: number }[];
  firstError?: string;
  /** How many errors of each kind: the reply's code and enhanced code, or the client's own error. */
  errorKinds: Record<string, number>;
}

/** An error's kind for `errorKinds`: "452 4.3.1", "no SMTP reply", "(closed)"… */
function errorKind(text: string): string {
  return /^\d{3}(?: \d\.\d{1,3}\.\d{1,3})?/.exec(text)?.[0] ?? text.replace(/[;:(].*$/, '').trim();
}

export async function runLoad(options: {
  target: Target;
  connections: number;
  pooled: boolean;
  recipients: number;
  seconds: number;
  maxMessages: number;
  body: (n: number) => string;
  /** Where the recipient addresses start (r<first>…): a fresh range means first contacts. */
  firstAddress?: number;
  /** The address of message n's recipient r (default: r<first + (7n + r) mod 5000>@client.example). */
  address?: (n: number, r: number) => string;
  /** Declare the message size at MAIL FROM (RFC 1870), as Postfix and most mail clients do. */
  declareSize?: boolean;
}): Promise<RunResult> {
  const { target } = options;
  const deadline = performance.now() + options.seconds * 1000;
  const result: RunResult = { messages: 0, errors: 0, seconds: 0, latencies: [], windows: [], errorKinds: {} };
  let issued = 0;
  const tally = (kind: string) => {
    result.errorKinds[kind] = (result.errorKinds[kind] ?? 0) + 1;
  };
  const open = async () => {
    const smtp = await RawSmtp.connect(target.port);
    if (target.secure) await smtp.login();
    else await smtp.command('EHLO bench.example');
    return smtp;
  };
  const started = performance.now();
  const worker = async () => {
    let smtp = options.pooled ? await open() : undefined;
    while (performance.now() < deadline && issued < options.maxMessages) {
      const n = issued++;
      const session = smtp ?? (await open());
      let stage = 'MAIL';
      try {
        const body = options.body(n);
        const size = options.declareSize ? ` SIZE=${Buffer.byteLength(body, 'latin1')}` : '';
        const mail = await session.command(`MAIL FROM:<alice@acme.example>${size}`);
        let t0 = performance.now();
        let reply = mail;
        // Refused at MAIL FROM (a SIZE the relay cannot hold now): nothing to upload.
        if (mail.startsWith('250')) {
          stage = 'RCPT';
          for (let r = 0; r < options.recipients; r++) {
            const to =
              options.address?.(n, r) ?? `r${(options.firstAddress ?? 0) + ((n * 7 + r) % 5000)}@client.example`;
            await session.command(`RCPT TO:<${to}>`);
          }
          stage = 'DATA';
          await session.command('DATA');
          stage = 'the end of DATA';
          session.write(`${body}\r\n.\r\n`);
          t0 = performance.now();
          reply = await session.reply(120_000);
        }
        const t1 = performance.now();
        if (reply.startsWith('250')) {
          result.messages++;
          result.latencies.push(t1 - t0);
          result.windows.push({ from: performance.timeOrigin + t0, to: performance.timeOrigin + t1 });
        } else {
          result.errors++;
          result.firstError ??= reply;
          tally(errorKind(reply));
        }
      } catch (err) {
        result.errors++;
        result.firstError ??= (err as Error).message;
        tally(`${errorKind((err as Error).message)} (at ${stage})`);
      }
      if (!options.pooled) {
        session.write('QUIT\r\n');
        session.close();
      }
    }
    if (smtp) {
      smtp.write('QUIT\r\n');
      smtp.close();
      smtp = undefined;
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/**
 * Makes every address the load generator uses (r0…r4999@client.example) a known contact: 50
 * messages of 100 recipients over 4 connections. The benchmark's steady state, where a copy costs
 * no first-contact claim.
 */
export function primeContacts(target: Target, body: (n: number) => string): Promise<RunResult> {
  return runLoad({
    target,
    connections: 4,
    pooled: true,
    recipients: 100,
    seconds: 600,
    maxMessages: 50,
    body,
    address: (n, r) => `r${n * 100 + r}@client.example`,
  });
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
