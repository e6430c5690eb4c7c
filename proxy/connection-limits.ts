import type net from 'node:net';

/**
 * Connections counted from TCP accept, across both listeners: at most `maxConnections` in all and
 * `maxConnectionsPerIp` from one client address, so one client holding connections (with or
 * without logging in, even in the middle of a TLS handshake) cannot lock the others out.
 */
export class ConnectionLimits {
  private total = 0;
  private readonly perIp = new Map<string, number>();

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
    socket.once('close', () => {
      this.total--;
      const left = (this.perIp.get(address) ?? 1) - 1;
      if (left > 0) this.perIp.set(address, left);
      else this.perIp.delete(address);
    });
    return { ok: true };
  }

  get connections(): number {
    return this.total;
  }
}
