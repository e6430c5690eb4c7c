import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import type tls from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection, type SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection';
import type { ConnectionLimits } from './connection-limits.ts';
import { parseProxyV2 } from './proxy-protocol.ts';

/**
 * smtp-server 3.21.x (pinned) with what an authenticated submission service needs and it lacks.
 * Each override replaces one method of that version and says why.
 */
export interface SubmissionOptions {
  /** smtp-server holds every greeting 100 ms (an early-talker check for port 25); 0 greets at once. */
  greetingDelayMs: number;
  /** Not logged in this long after connecting: 421 and close. */
  authTimeoutMs: number;
  /** Shared by both listeners. */
  limits: ConnectionLimits;
  /**
   * Peers (the load balancer) whose connections start with a PROXY protocol v2 header giving the
   * client's address; absent: no PROXY protocol. Limits, throttles and logs then see the client.
   */
  trustedProxy?: (address: string | undefined) => boolean;
}

type Callback = () => void;

class SubmissionConnection extends SMTPConnection {
  private authTimer: NodeJS.Timeout | undefined;
  private readonly tcpSocket: net.Socket;

  constructor(
    server: SMTPServer,
    socket: net.Socket | tls.TLSSocket,
    options: SMTPConnectionOptions | null | undefined,
    private readonly submission: SubmissionOptions,
  ) {
    super(server, socket, options);
    this.tcpSocket = socket;
  }

  /** The connection limits count this connection until it closes, STARTTLS upgrade or not. */
  override _onClose(): void {
    clearTimeout(this.authTimer);
    this.submission.limits.release(this.tcpSocket);
    super._onClose();
  }

  /**
   * Greets after `greetingDelayMs` (an early talker gains nothing on a port that needs AUTH over
   * TLS, and the delay caps one-message-per-connection clients at ~10 messages/s), and starts
   * the deadline to log in.
   */
  override init(): void {
    this._setListeners(() => {
      this.authTimer = setTimeout(() => {
        if (!this.session.user) this.send(421, '4.7.0 Authentication timeout: log in right after connecting');
      }, this.submission.authTimeoutMs);
      this.authTimer.unref();
      this._socket.once('close', () => clearTimeout(this.authTimer));
      if (this.submission.greetingDelayMs === 0) {
        this.connectionReady();
        return;
      }
      setTimeout(() => this.connectionReady(), this.submission.greetingDelayMs).unref();
    });
  }

  /** AUTH is not offered before TLS (like Postfix's smtpd_tls_auth_only): a client never sends a password in clear. */
  override handler_EHLO(command: Buffer, callback: Callback): void {
    if (this.secure) {
      super.handler_EHLO(command, callback);
      return;
    }
    const send = this.send;
    this.send = (code: number, data: string | string[], context?: unknown) =>
      send.call(
        this,
        code,
        Array.isArray(data) ? data.filter((line) => !/^AUTH\b/i.test(line)) : data,
        context as never,
      );
    try {
      super.handler_EHLO(command, callback);
    } finally {
      this.send = send;
    }
  }

  /**
   * smtp-server exempts AUTH from its count of commands before login, so a client could repeat a
   * bare `AUTH` forever at no cost; here it counts. Before TLS the answer is 538 with its enhanced
   * code (RFC 4954 §6: 5.7.11, encryption required).
   */
  override handler_AUTH(command: Buffer, callback: Callback): void {
    const max = this._maxAllowedUnauthenticatedCommands;
    if (!this.session.user && max !== false) {
      this._unauthenticatedCommands++;
      if (this._unauthenticatedCommands >= max) {
        this.send(421, '4.7.0 Too many commands without logging in');
        callback();
        return;
      }
    }
    if (!this.secure) {
      this.send(538, '5.7.11 Encryption required for requested authentication mechanism: use STARTTLS first');
      callback();
      return;
    }
    super.handler_AUTH(command, callback);
  }
}

/** smtp-server's internals this file replaces (3.21.x): the PROXY header before the session. */
type ProxyCallback = (err: Error | null, options?: { id: string; remoteAddress?: string; remotePort?: number }) => void;

export class SubmissionServer extends SMTPServer {
  constructor(
    options: SMTPServerOptions,
    private readonly submission: SubmissionOptions,
  ) {
    super(options);
    this.countConnections();
  }

  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    const connection = new SubmissionConnection(this, socket, socketOptions, this.submission);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => this._onClientConnect(data));
    connection.init();
  }

  /** smtp-server guards a socket that must send a PROXY header first (its pre-session timeout). */
  override _expectsProxyHeader(socket: net.Socket): boolean {
    return Boolean(this.submission.trustedProxy?.(socket.remoteAddress));
  }

  /**
   * smtp-server reads PROXY protocol v1 (text) only; AWS's load balancer sends v2 (binary). From a
   * trusted peer, the v2 header is read here (before the TLS handshake on the implicit-TLS port),
   * its client address becomes the session's, and the connection is counted under it.
   */
  override _handleProxy(socket: net.Socket, callback: ProxyCallback): void {
    const id = BigInt(`0x${randomBytes(10).toString('hex')}`)
      .toString(32)
      .padStart(16, '0');
    if (!this._expectsProxyHeader(socket)) {
      setImmediate(() => callback(null, { id }));
      return;
    }
    let buffered = Buffer.alloc(0);
    let finished = false;
    const finish = (err: Error | null, options?: { id: string; remoteAddress?: string; remotePort?: number }) => {
      if (finished) return;
      finished = true;
      socket.removeListener('readable', read);
      socket.removeListener('error', fail);
      socket.removeListener('close', closed);
      if (err) {
        socket.on('error', () => undefined);
        socket.destroy();
      }
      callback(err, options);
    };
    const fail = (err: Error) => finish(err);
    const closed = () => finish(new Error('connection closed before its PROXY header'));
    const read = () => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        buffered = Buffer.concat([buffered, chunk]);
        const header = parseProxyV2(buffered);
        if (header.kind === 'incomplete') continue;
        if (header.kind === 'invalid') return finish(new Error(`PROXY header refused: ${header.reason}`));
        const rest = buffered.subarray(header.length);
        if (rest.length > 0) socket.unshift(rest);
        const address = header.address ?? socket.remoteAddress ?? 'unknown';
        const admitted = this.submission.limits.admit(socket, address);
        if (!admitted.ok) {
          if (!this.options.secure) socket.end(`421 4.7.0 ${admitted.reason}, try again later\r\n`);
          return finish(new Error(admitted.reason));
        }
        return finish(null, { id, remoteAddress: address, ...(header.port ? { remotePort: header.port } : {}) });
      }
    };
    socket.on('readable', read);
    socket.on('error', fail);
    socket.on('close', closed);
  }

  /**
   * Every TCP connection is counted before smtp-server sees it (before a TLS handshake on the
   * implicit-TLS port), and one over the limits is answered 421 (STARTTLS port) or dropped.
   */
  private countConnections(): void {
    const listeners = this.server.listeners('connection') as ((socket: net.Socket) => void)[];
    this.server.removeAllListeners('connection');
    const secure = Boolean(this.options.secure);
    this.server.on('connection', (socket: net.Socket) => {
      // Through the balancer, the client's address is known only once its PROXY header is read.
      if (this.submission.trustedProxy?.(socket.remoteAddress)) {
        for (const listener of listeners) listener.call(this.server, socket);
        return;
      }
      const admitted = this.submission.limits.admit(socket, socket.remoteAddress ?? 'unknown');
      if (!admitted.ok) {
        if (!secure) socket.end(`421 4.7.0 ${admitted.reason}, try again later\r\n`);
        else socket.destroy();
        return;
      }
      for (const listener of listeners) listener.call(this.server, socket);
    });
  }
}
