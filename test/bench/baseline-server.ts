import type { SMTPServer, SMTPServerOptions } from 'smtp-server';
import { ConnectionLimits } from '../../proxy/connection-limits.ts';
import { SubmissionServer } from '../../proxy/submission-server.ts';

/** The relay's SMTP server class (its greeting delay, no connection caps) around the given handlers. */
export function submissionServer(options: SMTPServerOptions, greetingDelayMs: number): SMTPServer {
  return new SubmissionServer(options, {
    greetingDelayMs,
    authTimeoutMs: 600_000,
    limits: new ConnectionLimits(1_000_000, 1_000_000),
  });
}

/** Listens on a loopback port, prints it as JSON on stdout for the benchmark, stops on SIGTERM. */
export function listenForBench(server: SMTPServer): void {
  server.listen(0, '127.0.0.1', () => {
    const address = server.server.address() as { port: number };
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
