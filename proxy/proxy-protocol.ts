import net from 'node:net';

/**
 * The PROXY protocol, version 2 (binary), as AWS's Network Load Balancer sends it when the target
 * group has `proxy_protocol_v2.enabled`: a 16-byte preamble, then the addresses, then optional
 * TLVs, before the first byte of the client's own stream (before the TLS handshake on port 465).
 * Only the connection's source address and port are used; TLVs (the NLB's VPC endpoint id) are
 * skipped. See https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt, section 2.2.
 */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const MAX_LENGTH = 16 + 536;

export type ProxyHeader =
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string }
  /** `address` absent: a LOCAL connection (the balancer's own) or an address family without one. */
  | { kind: 'ok'; length: number; address?: string; port?: number };

export function parseProxyV2(data: Buffer): ProxyHeader {
  const have = Math.min(data.length, V2_SIGNATURE.length);
  if (!data.subarray(0, have).equals(V2_SIGNATURE.subarray(0, have))) {
    return { kind: 'invalid', reason: 'not a PROXY protocol v2 header' };
  }
  if (data.length < 16) return { kind: 'incomplete' };
  const version = data[12]! >> 4;
  const command = data[12]! & 0x0f;
  if (version !== 2) return { kind: 'invalid', reason: `PROXY protocol version ${version}` };
  if (command > 1) return { kind: 'invalid', reason: `PROXY command ${command}` };
  const length = 16 + data.readUInt16BE(14);
  if (length > MAX_LENGTH) return { kind: 'invalid', reason: 'PROXY header too long' };
  if (data.length < length) return { kind: 'incomplete' };
  if (command === 0) return { kind: 'ok', length }; // LOCAL: the connection's own address stands
  const family = data[13]!;
  if (family === 0x11 && length >= 16 + 12) {
    return { kind: 'ok', length, address: [...data.subarray(16, 20)].join('.'), port: data.readUInt16BE(24) };
  }
  if (family === 0x21 && length >= 16 + 36) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(data.readUInt16BE(16 + i).toString(16));
    const address = net.isIPv6(groups.join(':')) ? groups.join(':') : undefined;
    return { kind: 'ok', length, ...(address ? { address } : {}), port: data.readUInt16BE(48) };
  }
  return { kind: 'ok', length }; // UNSPEC or UNIX: no client address to take
}

/** A v2 header for a TCP/IPv4 client (what the balancer sends): for tests and tools. */
export function proxyV2Header(
  source: string,
  sourcePort: number,
  destination = '10.0.0.10',
  destinationPort = 587,
): Buffer {
  const header = Buffer.alloc(16 + 12);
  V2_SIGNATURE.copy(header, 0);
  header[12] = 0x21; // version 2, PROXY
  header[13] = 0x11; // TCP over IPv4
  header.writeUInt16BE(12, 14);
  Buffer.from(source.split('.').map(Number)).copy(header, 16);
  Buffer.from(destination.split('.').map(Number)).copy(header, 20);
  header.writeUInt16BE(sourcePort, 24);
  header.writeUInt16BE(destinationPort, 26);
  return header;
}

/** Is this peer one whose PROXY header is believed (the balancer's network)? */
export function trustedPeers(cidrs: string[]): (address: string | undefined) => boolean {
  const list = new net.BlockList();
  for (const cidr of cidrs) {
    const [prefix, bits] = cidr.split('/');
    const type = net.isIPv6(prefix!) ? 'ipv6' : 'ipv4';
    list.addSubnet(prefix!, Number(bits), type);
  }
  return (address) => {
    if (!address) return false;
    const plain = address.replace(/^::ffff:/, '');
    return list.check(plain, net.isIPv6(plain) ? 'ipv6' : 'ipv4');
  };
}
