import type net from 'node:net';
import type tls from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection, type SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection';

/**
 * smtp-server holds every greeting back for a fixed 100 ms, to catch spam bots that talk before
 * the banner on port 25 ("early talkers"). A submission service requires AUTH over TLS before it
 * takes any mail, so an early talker gains nothing here, and the delay caps a client that opens one
 * connection per message at ~10 messages/s. This server greets after `greetingDelayMs` (0: at
 * once). It replaces SMTPServer.connect/SMTPConnection.init of smtp-server 3.21.x, which is pinned;
 * the connection-limit check is kept as it was.
 */
class SubmissionConnection extends SMTPConnection {
  constructor(
    server: SMTPServer,
    socket: net.Socket | tls.TLSSocket,
    options: SMTPConnectionOptions | null | undefined,
    private readonly greetingDelayMs: number,
  ) {
    super(server, socket, options);
  }

  override init(): void {
    this._setListeners(() => {
      const { maxClients } = this._server.options;
      if (maxClients && this._server.connections.size > maxClients) {
        this.send(421, `${this.name} Too many connected clients, try again in a moment`, false);
        return;
      }
      if (this.greetingDelayMs === 0) {
        this.connectionReady();
        return;
      }
      setTimeout(() => this.connectionReady(), this.greetingDelayMs).unref();
    });
  }
}

export class SubmissionServer extends SMTPServer {
  constructor(
    options: SMTPServerOptions,
    private readonly greetingDelayMs: number,
  ) {
    super(options);
  }

  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    const connection = new SubmissionConnection(this, socket, socketOptions, this.greetingDelayMs);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => this._onClientConnect(data));
    connection.init();
  }
}
