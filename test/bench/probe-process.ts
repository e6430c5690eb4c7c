/**
 * Another client, for the benchmark's flood cases: in a process of its own (the benchmark's is busy
 * being the flood), one pooled session sends a small one-recipient message, waits 100 ms, and
 * again, until its stdin closes; then prints `{"times": [...], "errors": [...], "slowest": {...}}`:
 * each message's milliseconds from MAIL FROM to the 250 after DATA, and the longest wait per step.
 * What the other clients of a relay see while one floods it. Trusts the certificate in
 * FAIRSEND_TEST_TLS_DIR (the parent's test certificate).
 */
import { performance } from 'node:perf_hooks';
import { RawSmtp } from '../helpers/smtp.ts';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: probe-process.ts <port>\n');
  process.exit(2);
}
let running = true;
process.stdin.on('end', () => {
  running = false;
});
process.stdin.resume();

const times: number[] = [];
const errors: string[] = [];
/** The longest wait for each reply: which step a slow message waited at. */
const slowest: Record<string, number> = { MAIL: 0, RCPT: 0, DATA: 0, 'end of DATA': 0 };
const timed = async (step: string, timeoutMs: number) => {
  const t = performance.now();
  const reply = await smtp.reply(timeoutMs);
  slowest[step] = Math.max(slowest[step]!, performance.now() - t);
  return reply;
};
// From another loopback address: another client, not one more session of the flood's.
const smtp = await RawSmtp.connect(port, { localAddress: '127.0.0.2' });
await smtp.login();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for (let n = 0; running; n++) {
  const t0 = performance.now();
  try {
    // RFC 5321's own timeouts (5 minutes a command, 10 for the end of DATA), not the client's 10 s.
    for (const [step, line] of [
      ['MAIL', 'MAIL FROM:<alice@acme.example>'],
      ['RCPT', `RCPT TO:<probe${n % 100}@client.example>`],
      ['DATA', 'DATA'],
    ] as const) {
      smtp.write(`${line}\r\n`);
      const reply = await timed(step, 300_000);
      if (!/^(250|354)/.test(reply)) throw new Error(reply);
    }
    smtp.write(
      `From: alice@acme.example\r\nTo: probe@client.example\r\nSubject: probe ${n}\r\nMessage-ID: <probe-${process.pid}-${n}-${Date.now()}@acme.example>\r\n\r\nBonjour.\r\n.\r\n`,
    );
    const reply = await timed('end of DATA', 600_000);
    if (!reply.startsWith('250')) throw new Error(reply);
    times.push(performance.now() - t0);
  } catch (err) {
    errors.push((err as Error).message.slice(0, 80));
    smtp.write('RSET\r\n');
    await smtp.reply(300_000).catch(() => undefined);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
smtp.write('QUIT\r\n');
smtp.close();
process.stdout.write(`${JSON.stringify({ times, errors, slowest })}\n`);
process.exit(0);
