import net from 'node:net';
import tls from 'node:tls';
import nodemailer from 'nodemailer';
import type { LocalStack } from '../../infra/local/stack.ts';
import { PASSWORD } from './config.ts';
import { testCertificate } from './stack.ts';

export interface SendOptions {
  /** Connect from this loopback address (127.0.0.2, …). */
  localAddress?: string;
  user?: string;
  pass?: string;
  from: string;
  to: string[];
  raw: string | Buffer;
  implicitTls?: boolean;
  socketTimeout?: number;
}

/**
 * Sends with nodemailer's real SMTP client over STARTTLS (or implicit TLS), trusting our test CA:
 * to a local stack, or to a relay process's STARTTLS port. The one nodemailer client of the tests.
 */
export async function sendWithNodemailer(target: LocalStack | { port: number }, options: SendOptions) {
  const { cert } = await testCertificate();
  const port =
    'port' in target ? target.port : options.implicitTls ? target.smtp.implicitTls.port : target.smtp.starttls.port;
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: options.implicitTls ?? false,
    requireTLS: true,
    auth: { user: options.user ?? 'alice', pass: options.pass ?? PASSWORD },
    tls: { ca: cert, servername: 'localhost' },
    ...(options.socketTimeout ? { socketTimeout: options.socketTimeout } : {}),
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  try {
    return await transport.sendMail({ envelope: { from: options.from, to: options.to }, raw: options.raw });
  } finally {
    transport.close();
  }
}

/** The reply nodemailer got for a failed send: "550 5.7.1 ..." */
export function smtpErrorOf(err: unknown): { responseCode?: number; response?: string; rejected?: string[] } {
  return err as { responseCode?: number; response?: string; rejected?: string[] };
}

/**
 * A raw SMTP conversation, line by line: for what nodemailer would never send (bare LF,
 * pipelined junk, plain-text AUTH).
 */
export class RawSmtp {
  private socket: net.Socket | tls.TLSSocket;
  private buffer = '';
  /** The server's first reply: its 220 greeting, or the 421 of a refused connection. */
  greeting = '';
  private waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.attach();
  }

  /** `localAddress` (127.0.0.2, 127.0.0.3, …) makes the connection come from another loopback client. */
  /** `preamble`: bytes sent before anything else (a PROXY protocol header). */
  static async connect(port: number, options: { localAddress?: string; preamble?: Buffer } = {}): Promise<RawSmtp> {
    const socket = net.connect({
      port,
      host: '127.0.0.1',
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    socket.setNoDelay(true); // no Nagle: a command must not wait for the previous one's ACK
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    if (options.preamble) socket.write(options.preamble);
    const client = new RawSmtp(socket);
    client.greeting = await client.reply();
    return client;
  }

  private attach(): void {
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('close', () => {
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('error', () => undefined);
  }

  /** Reads one complete (possibly multi-line) reply. */
  async reply(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let lookedAgain = false;
    for (;;) {
      const match = this.buffer.match(/^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/);
      if (match) {
        this.buffer = this.buffer.slice(match[0].length);
        return match[0].trimEnd();
      }
      if (this.socket.destroyed) return `(closed) ${this.buffer}`;
      if (Date.now() > deadline) {
        // A reply may be waiting in the socket while this process was busy (a load generator's
        // own uploads): one turn for its I/O before calling it missing.
        if (!lookedAgain) {
          lookedAgain = true;
          await new Promise<void>((resolve) => setImmediate(resolve));
          continue;
        }
        throw new Error(`no SMTP reply; buffer: ${JSON.stringify(this.buffer)}`);
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async command(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  async startTls(): Promise<void> {
    const reply = await this.command('STARTTLS');
    if (!reply.startsWith('220')) throw new Error(`STARTTLS refused: ${reply}`);
    const { cert } = await testCertificate();
    const secure = tls.connect({ socket: this.socket as net.Socket, ca: cert, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket.removeAllListeners('data');
    this.socket = secure;
    this.buffer = '';
    this.attach();
  }

  /** EHLO, STARTTLS, EHLO, AUTH PLAIN. */
  async login(user = 'alice', pass = PASSWORD): Promise<void> {
    await this.command('EHLO client.example');
    await this.startTls();
    await this.command('EHLO client.example');
    const reply = await this.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`);
    if (!reply.startsWith('235')) throw new Error(`login failed: ${reply}`);
  }

  get closed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  /** Resolves once the server has closed the connection (or after `timeoutMs`, false). */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    if (this.closed) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
