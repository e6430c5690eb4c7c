import { describe, expect, it } from 'vitest';
import { parseProxyV2, proxyV2Header, trustedPeers, V2_SIGNATURE } from '../../proxy/proxy-protocol.ts';

describe('PROXY protocol v2', () => {
  it('reads the client address of a TCP/IPv4 header, and waits for a header cut in two', () => {
    const header = proxyV2Header('203.0.113.7', 51234);
    expect(parseProxyV2(header)).toEqual({ kind: 'ok', length: 28, address: '203.0.113.7', port: 51234 });
    expect(parseProxyV2(header.subarray(0, 10))).toEqual({ kind: 'incomplete' });
    expect(parseProxyV2(header.subarray(0, 20))).toEqual({ kind: 'incomplete' });
    // TLVs after the addresses (the NLB's endpoint id) are skipped, not read as SMTP.
    const withTlv = Buffer.concat([header, Buffer.from([0xea, 0x00, 0x02, 0x41, 0x42])]);
    withTlv.writeUInt16BE(12 + 5, 14);
    expect(parseProxyV2(withTlv)).toMatchObject({ kind: 'ok', length: 33, address: '203.0.113.7' });
  });

  it('reads TCP/IPv6, keeps the connection address for LOCAL, refuses what is not a v2 header', () => {
    const v6 = Buffer.alloc(16 + 36);
    V2_SIGNATURE.copy(v6);
    v6[12] = 0x21;
    v6[13] = 0x21;
    v6.writeUInt16BE(36, 14);
    Buffer.from('20010db8000000000000000000000007', 'hex').copy(v6, 16);
    v6.writeUInt16BE(4242, 48);
    expect(parseProxyV2(v6)).toEqual({ kind: 'ok', length: 52, address: '2001:db8:0:0:0:0:0:7', port: 4242 });
    const local = Buffer.alloc(16);
    V2_SIGNATURE.copy(local);
    local[12] = 0x20;
    expect(parseProxyV2(local)).toEqual({ kind: 'ok', length: 16 });
    expect(parseProxyV2(Buffer.from('EHLO client.example\r\n'))).toEqual({
      kind: 'invalid',
      reason: 'not a PROXY protocol v2 header',
    });
    expect(parseProxyV2(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'))).toMatchObject({ kind: 'invalid' });
    const v1 = proxyV2Header('203.0.113.7', 1);
    v1[12] = 0x11;
    expect(parseProxyV2(v1)).toEqual({ kind: 'invalid', reason: 'PROXY protocol version 1' });
    const long = proxyV2Header('203.0.113.7', 1);
    long.writeUInt16BE(4000, 14);
    expect(parseProxyV2(long)).toEqual({ kind: 'invalid', reason: 'PROXY header too long' });
  });

  it('believes headers only from the configured networks', () => {
    const trusted = trustedPeers(['10.0.0.0/16', 'fd00::/8']);
    expect(trusted('10.0.3.4')).toBe(true);
    expect(trusted('::ffff:10.0.3.4')).toBe(true);
    expect(trusted('10.1.0.1')).toBe(false);
    expect(trusted('fd12::1')).toBe(true);
    expect(trusted('203.0.113.7')).toBe(false);
    expect(trusted(undefined)).toBe(false);
  });
});
