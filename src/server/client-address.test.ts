/**
 * The client address with and without trusted proxies (client-address.ts): the TCP peer
 * unless the peer is trusted, then the right-most X-Forwarded-For entry that is not a
 * trusted proxy; malformed entries stop the walk; a property test checks that no entry
 * left of an untrusted one (what a client can forge) is ever chosen.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientAddresses, peerAddress, trustedProxies } from './client-address.js';

describe('trustedProxies', () => {
  it('takes IPv4 and IPv6 subnets and single addresses', () => {
    const list = trustedProxies(['10.0.0.0/8', '192.0.2.7', 'fd00::/8', '::1', '0.0.0.0/0'])!;
    expect(list.check('10.200.1.1', 'ipv4')).toBe(true);
    expect(list.check('fd12::1', 'ipv6')).toBe(true);
    expect(trustedProxies([])).toBeUndefined();
  });

  it('refuses anything else as a usage error', () => {
    for (const cidr of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0.0/8/1', '10.0.0.0/x']) {
      expect(() => trustedProxies([cidr]), cidr).toThrow(/--trusted-proxy/);
    }
    for (const cidr of ['', '/8', '10.0.0.0/', '10.0.0.0/-1', 'fe80::1%eth0']) {
      expect(() => trustedProxies([cidr]), cidr).toThrow(/--trusted-proxy/);
    }
  });
});

describe('ClientAddresses', () => {
  it('without trusted proxies: the TCP peer, whatever the header says', () => {
    const a = new ClientAddresses();
    expect(a.of('::ffff:10.0.0.1', '198.51.100.1')).toBe('10.0.0.1');
    expect(a.of('2001:db8::1', '198.51.100.1')).toBe('2001:db8::1');
    expect(a.of(undefined, undefined)).toBe('unknown');
    expect(peerAddress('')).toBe('unknown');
  });

  it('with trusted proxies: the right-most untrusted entry, from a trusted peer only', () => {
    const a = new ClientAddresses(trustedProxies(['10.0.0.0/8', 'fd00::/8']));
    const cases: [string, string | string[] | undefined, string][] = [
      ['10.0.0.5', '198.51.100.1', '198.51.100.1'],
      ['10.0.0.5', ' 6.6.6.6 , 198.51.100.2 ,10.1.1.1 ', '198.51.100.2'],
      ['10.0.0.5', ['6.6.6.6', '198.51.100.3, 10.9.9.9'], '198.51.100.3'],
      ['fd00::2', '2001:DB8:0:0::7', '2001:db8::7'],
      ['10.0.0.5', '::ffff:198.51.100.4', '198.51.100.4'],
      ['10.0.0.5', '198.51.100.5:4711', '10.0.0.5'],
      ['10.0.0.5', 'unknown, 10.2.2.2', '10.2.2.2'],
      ['10.0.0.5', '10.3.3.3, 10.2.2.2', '10.3.3.3'],
      ['10.0.0.5', '', '10.0.0.5'],
      ['10.0.0.5', undefined, '10.0.0.5'],
      ['198.51.100.9', '10.0.0.1', '198.51.100.9'],
      ['10.0.0.5', `${'10.0.0.1,'.repeat(100)}198.51.100.6`, '198.51.100.6'],
      ['10.0.0.5', `198.51.100.7,${'10.0.0.1,'.repeat(100)}10.0.0.2`, '10.0.0.1'],
    ];
    for (const [peer, header, client] of cases) {
      expect([peer, header, a.of(peer, header)]).toEqual([peer, header, client]);
      expect(a.of(peer, header)).toBe(client); // cached answer is the same
    }
  });

  it('property: never an entry left of an untrusted one; always a valid address', () => {
    const a = new ClientAddresses(trustedProxies(['10.0.0.0/8']));
    const hop = fc.oneof(
      fc.constantFrom('10.0.0.1', '10.9.9.9', 'junk', '', '2001:db8::1'),
      fc.tuple(fc.nat(255), fc.nat(255)).map(([x, y]) => `198.51.${x}.${y}`),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('10.0.0.5', '203.0.113.1'),
        fc.array(hop, { maxLength: 8 }),
        (peer, hops) => {
          const got = a.of(peer, hops.join(','));
          if (peer === '203.0.113.1') {
            expect(got).toBe(peer);
            return;
          }
          // the chain as the server sees it: the entries, then the peer itself
          const chain = [...hops.map((h) => h.trim()), peer];
          let expected: string = peer;
          for (let i = chain.length - 2; i >= 0; i--) {
            const h = chain[i]!;
            if (!/^[\d.]+$|:/.test(h) || h === '' || h === 'junk') break;
            expected = h;
            if (!h.startsWith('10.')) break;
          }
          expect(got).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
