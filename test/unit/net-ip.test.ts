import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ipaddr from 'ipaddr.js';
import { covers, InvalidTargetError, parseTarget, tryParseTarget, type Target } from '../../src/net/ip.js';
import { parseDnsmasqLeases } from '../../src/clients/index.js';

const hex = (b: Buffer): string => b.toString('hex');

function expectTarget(input: string, text: string, start: string, end: string): Target {
  const t = parseTarget(input);
  assert.equal(t.text, text, `text of ${input}`);
  assert.equal(hex(t.start), start, `start of ${input}`);
  assert.equal(hex(t.end), end, `end of ${input}`);
  return t;
}

describe('parseTarget', () => {
  it('parses IPv4 hosts and CIDRs, clearing host bits', () => {
    const h = expectTarget('192.0.2.1', '192.0.2.1', 'c0000201', 'c0000201');
    assert.deepEqual([h.family, h.prefix, h.isHost], [4, 32, true]);
    const n = expectTarget('10.1.2.3/8', '10.0.0.0/8', '0a000000', '0affffff');
    assert.deepEqual([n.family, n.prefix, n.isHost], [4, 8, false]);
    expectTarget('198.51.100.77/24', '198.51.100.0/24', 'c6336400', 'c63364ff');
    expectTarget('0.0.0.0/0', '0.0.0.0/0', '00000000', 'ffffffff');
    expectTarget('255.255.255.255/31', '255.255.255.254/31', 'fffffffe', 'ffffffff');
    // A /32 is a host and is written without a prefix, like the plain address.
    const slash32 = expectTarget('203.0.113.9/32', '203.0.113.9', 'cb007109', 'cb007109');
    assert.equal(slash32.isHost, true);
    expectTarget('  192.0.2.1\t', '192.0.2.1', 'c0000201', 'c0000201');
  });

  it('parses IPv6 hosts and CIDRs in canonical (RFC 5952) text', () => {
    const h = expectTarget('2001:DB8:0:0:0:0:0:1', '2001:db8::1', '20010db8000000000000000000000001', '20010db8000000000000000000000001');
    assert.deepEqual([h.family, h.prefix, h.isHost], [6, 128, true]);
    const n = expectTarget('2001:db8:abcd:12::5/48', '2001:db8:abcd::/48', '20010db8abcd00000000000000000000', '20010db8abcdffffffffffffffffffff');
    assert.deepEqual([n.family, n.prefix, n.isHost], [6, 48, false]);
    expectTarget('::1', '::1', '0'.repeat(31) + '1', '0'.repeat(31) + '1');
    expectTarget('::/0', '::/0', '0'.repeat(32), 'f'.repeat(32));
    expectTarget('2001:db8::7/127', '2001:db8::6/127', '20010db8' + '0'.repeat(23) + '6', '20010db8' + '0'.repeat(23) + '7');
  });

  it('turns IPv4-mapped IPv6 into IPv4, prefix included', () => {
    const t = expectTarget('::ffff:192.0.2.1', '192.0.2.1', 'c0000201', 'c0000201');
    assert.equal(t.family, 4);
    expectTarget('::ffff:c000:0201', '192.0.2.1', 'c0000201', 'c0000201');
    const r = expectTarget('::ffff:10.9.8.7/104', '10.0.0.0/8', '0a000000', '0affffff');
    assert.deepEqual([r.family, r.prefix], [4, 8]);
    assert.throws(() => parseTarget('::ffff:10.0.0.0/95'), InvalidTargetError);
  });

  for (const bad of [
    '1',
    '010.0.0.1',
    '1.2.3.04',
    '0x7f.0.0.1',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.4/33',
    '1.2.3.4/',
    '1.2.3.4/-1',
    '1.2.3.4/8/8',
    '1.2.3.4/ 8',
    '::1/129',
    '2001:db8::/1000',
    '1::2::3',
    'fe80::1%eth0',
    'example.com',
    '',
    '   ',
    '1.2.3.4 5.6.7.8',
  ]) {
    it(`rejects ${JSON.stringify(bad)} with a clear error`, () => {
      assert.throws(() => parseTarget(bad), (e: unknown) => e instanceof InvalidTargetError && e.message.includes('not an IP address or CIDR range'));
      assert.equal(tryParseTarget(bad), undefined);
    });
  }

  it('rejects inputs longer than 64 characters, and keeps the error message short', () => {
    // 65 characters, even though it starts with a valid address.
    const long = '2001:db8::1' + '/'.padEnd(54, '1');
    assert.equal(long.length, 65);
    assert.throws(() => parseTarget(long), InvalidTargetError);
    const huge = '1'.repeat(10_000);
    assert.throws(() => parseTarget(huge), (e: unknown) => e instanceof Error && e.message.length < 200);
    // Exactly 39 characters: the longest plain IPv6 text is accepted.
    assert.equal(parseTarget('2001:0db8:0000:0000:0000:0000:0000:0001').text, '2001:db8::1');
  });
});

describe('covers', () => {
  it('answers whether a range contains another, per family', () => {
    const p = parseTarget;
    assert.equal(covers(p('10.0.0.0/8'), p('10.200.3.4')), true);
    assert.equal(covers(p('10.0.0.0/8'), p('10.0.0.0/8')), true);
    assert.equal(covers(p('10.0.0.0/8'), p('10.1.0.0/16')), true);
    assert.equal(covers(p('10.1.0.0/16'), p('10.0.0.0/8')), false);
    assert.equal(covers(p('10.0.0.0/8'), p('11.0.0.0')), false);
    assert.equal(covers(p('10.0.0.0/8'), p('9.255.255.255')), false);
    assert.equal(covers(p('2001:db8::/32'), p('2001:db8:ffff::1')), true);
    assert.equal(covers(p('2001:db8::/32'), p('2001:db9::1')), false);
    // Same bytes, different family: ::/0 does not cover IPv4.
    assert.equal(covers(p('::/0'), p('1.2.3.4')), false);
    assert.equal(covers(p('0.0.0.0/0'), p('::1')), false);
    assert.equal(covers(p('192.0.2.5'), p('::ffff:192.0.2.5')), true);
  });
});

/** Deterministic PRNG so a failure can be replayed from the seed in the message. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('parseTarget against ipaddr.js (randomized)', () => {
  const seed = Date.now() % 1_000_000;
  const rand = rng(seed);
  const int = (n: number): number => Math.floor(rand() * n);

  function randomV6Text(parts: number[]): string {
    const style = int(4);
    if (style === 0) return parts.map((p) => p.toString(16).padStart(4, '0')).join(':');
    if (style === 1) return parts.map((p) => p.toString(16).toUpperCase()).join(':');
    if (style === 2) {
      // Dotted IPv4 tail, as allowed by RFC 4291.
      const head = parts.slice(0, 6).map((p) => p.toString(16)).join(':');
      return `${head}:${parts[6]! >> 8}.${parts[6]! & 255}.${parts[7]! >> 8}.${parts[7]! & 255}`;
    }
    return ipaddr.fromByteArray(partsToBytes(parts)).toString();
  }
  function partsToBytes(parts: number[]): number[] {
    return parts.flatMap((p) => [p >> 8, p & 255]);
  }

  it('agrees on canonical text, start and end for 3,000 random IPv4 inputs', () => {
    for (let i = 0; i < 3000; i++) {
      const bytes = [int(256), int(256), int(256), int(256)];
      const withPrefix = rand() < 0.7;
      const prefix = int(33);
      const input = bytes.join('.') + (withPrefix ? `/${prefix}` : '');
      const t = parseTarget(input);
      const cidr = withPrefix ? input : `${input}/32`;
      const net = ipaddr.IPv4.networkAddressFromCIDR(cidr);
      const bc = ipaddr.IPv4.broadcastAddressFromCIDR(cidr);
      const msg = `seed ${seed}, input ${input}`;
      assert.deepEqual([...t.start], net.toByteArray(), msg);
      assert.deepEqual([...t.end], bc.toByteArray(), msg);
      const p = withPrefix ? prefix : 32;
      assert.equal(t.text, p === 32 ? net.toString() : `${net.toString()}/${p}`, msg);
      assert.equal(t.isHost, p === 32, msg);
    }
  });

  it('agrees on canonical text, start and end for 3,000 random IPv6 inputs', () => {
    for (let i = 0; i < 3000; i++) {
      // Runs of zero groups are what makes IPv6 text tricky: put some in on purpose.
      const parts = Array.from({ length: 8 }, () => (rand() < 0.4 ? 0 : int(0x10000)));
      if (parts[0] === 0 && parts[1] === 0 && parts[2] === 0 && parts[3] === 0 && parts[4] === 0 && (parts[5] === 0xffff || parts[5] === 0)) parts[0] = 0x2001;
      const withPrefix = rand() < 0.7;
      const prefix = int(129);
      const addrText = randomV6Text(parts);
      const input = addrText + (withPrefix ? `/${prefix}` : '');
      const p = withPrefix ? prefix : 128;
      const cidr = `${addrText}/${p}`;
      const t = parseTarget(input);
      const net = ipaddr.IPv6.networkAddressFromCIDR(cidr);
      const bc = ipaddr.IPv6.broadcastAddressFromCIDR(cidr);
      const msg = `seed ${seed}, input ${input}`;
      assert.equal(t.family, 6, msg);
      assert.deepEqual([...t.start], net.toByteArray(), msg);
      assert.deepEqual([...t.end], bc.toByteArray(), msg);
      assert.equal(t.text, p === 128 ? net.toRFC5952String() : `${net.toRFC5952String()}/${p}`, msg);
      // An independent opinion on the canonical form: the WHATWG URL parser's IPv6 serializer.
      assert.equal(`[${t.text.split('/')[0]}]`, new URL(`http://[${net.toNormalizedString()}]/`).hostname, msg);
      // Canonical text parses back to itself.
      assert.equal(parseTarget(t.text).text, t.text, msg);
    }
  });

  it('agrees for random IPv4-mapped IPv6 inputs', () => {
    for (let i = 0; i < 1000; i++) {
      const v4 = [int(256), int(256), int(256), int(256)];
      const prefix = 96 + int(33);
      const input = `::ffff:${v4.join('.')}/${prefix}`;
      const t = parseTarget(input);
      const cidr = `${v4.join('.')}/${prefix - 96}`;
      const msg = `seed ${seed}, input ${input}`;
      assert.equal(t.family, 4, msg);
      assert.deepEqual([...t.start], ipaddr.IPv4.networkAddressFromCIDR(cidr).toByteArray(), msg);
      assert.deepEqual([...t.end], ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toByteArray(), msg);
      assert.equal(t.prefix, prefix - 96, msg);
    }
  });

  it('never throws anything but InvalidTargetError on random junk', () => {
    const alphabet = '0123456789abcdefABCDEF:./% x-\n\t';
    for (let i = 0; i < 3000; i++) {
      const s = Array.from({ length: int(50) }, () => alphabet[int(alphabet.length)]).join('');
      try {
        const t = parseTarget(s);
        // Whatever was accepted must be canonical and stable.
        assert.equal(parseTarget(t.text).text, t.text, `seed ${seed}, input ${JSON.stringify(s)}`);
      } catch (e) {
        assert.ok(e instanceof InvalidTargetError, `seed ${seed}, input ${JSON.stringify(s)}: ${String(e)}`);
      }
    }
  });
});

describe('parseDnsmasqLeases', () => {
  it('maps IPs to lower-case MACs and hostnames, skipping junk lines', () => {
    const text = [
      '1700000000 AA:BB:CC:DD:EE:01 192.168.1.10 laptop 01:aa:bb:cc:dd:ee:01',
      '1700000100 aa:bb:cc:dd:ee:02 192.168.1.11 * *',
      '0 aa:bb:cc:dd:ee:03 2001:db8::5 phone *',
      'duid 00:01:00:01:2c:aa:bb:cc:dd:ee:ff:00',
      '1700000200 not-a-mac 192.168.1.12 tv *',
      '',
      '1700000300 aa:bb:cc:dd:ee:04',
      '   1700000400 aa:bb:cc:dd:ee:05 192.168.1.14 printer *   \r',
    ].join('\n');
    const m = parseDnsmasqLeases(text);
    assert.deepEqual(m.get('192.168.1.10'), { mac: 'aa:bb:cc:dd:ee:01', name: 'laptop' });
    assert.deepEqual(m.get('192.168.1.11'), { mac: 'aa:bb:cc:dd:ee:02', name: null });
    assert.deepEqual(m.get('2001:db8::5'), { mac: 'aa:bb:cc:dd:ee:03', name: 'phone' });
    assert.deepEqual(m.get('192.168.1.14'), { mac: 'aa:bb:cc:dd:ee:05', name: 'printer' });
    assert.equal(m.has('192.168.1.12'), false);
    assert.equal(m.size, 4);
  });

  it('returns an empty map for an empty or garbage file', () => {
    assert.equal(parseDnsmasqLeases('').size, 0);
    assert.equal(parseDnsmasqLeases('\u0000\u0001 zzz\n\n#').size, 0);
  });
});
