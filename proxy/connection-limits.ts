import type net from 'node:net';

/**
 * Connections counted from TCP accept, across both listeners: at most `maxConnections` in all and
 * `maxConnectionsPerIp` from one client address, so one client holding connections (with or
 * without logging in, even in the middle of a TLS handshake) cannot lock the others out.
 */
export class ConnectionLimits {
  private total = 0;
  private readonly perIp = new Map<string, number>();
  /** How to let each admitted socket go: once, on whichever close comes first. */
  private readonly releases = new WeakMap<net.Socket, () => void>();

  constructor(
    private readonly maxConnections: number,
    private readonly maxConnectionsPerIp: number,
  ) {}

  /** Counts the socket in, or says why not; a counted socket is released when it closes. */
  admit(socket: net.Socket, address: string): { ok: true } | { ok: false; reason: string } {
    const fromIp = this.perIp.get(address) ?? 0;
    if (fromIp >= this.maxConnectionsPerIp) {
      return { ok: false, reason: `too many connections from your address (at most ${this.maxConnectionsPerIp})` };
    }
    if (this.total >= this.maxConnections) return { ok: false, reason: 'too many connected clients' };
    this.total++;
    this.perIp.set(address, fromIp + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perIp.get(address) ?? 1) - 1;
      if (left > 0) this.perIp.set(address, left);
      else this.perIp.delete(address);
    };
    this.releases.set(socket, release);
    // smtp-server strips every listener from the TCP socket when it upgrades it for STARTTLS,
    // so the connection also releases its count when it closes (see SubmissionConnection).
    socket.once('close', release);
    return { ok: true };
  }

  /** The connection on this socket is closed: its count is let go (idempotent). */
  release(socket: net.Socket): void {
    this.releases.get(socket)?.();
  }

  get connections(): number {
    return this.total;
  }
}
