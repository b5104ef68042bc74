import assert from 'node:assert/strict';
import { test } from 'node:test';
import ipaddr from 'ipaddr.js';
import { isPrivateAddress } from '../../src/dns/worker/special.js';

/** What the rebinding check meant before it parsed by hand: ipaddr.js's ranges (the reference). */
function reference(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  let a = ipaddr.parse(ip);
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  const r = a.range();
  return r === 'private' || r === 'loopback' || r === 'linkLocal' || r === 'uniqueLocal' || r === 'unspecified' || r === 'carrierGradeNat';
}

function rnd(n: number): number {
  return Math.floor(Math.random() * n);
}

test('the rebinding check calls private exactly the addresses ipaddr.js does (answers as the wire prints them)', () => {
  // Bias the first bytes towards the ranges' edges so every boundary is crossed many times.
  const firstV4 = [0, 1, 9, 10, 11, 99, 100, 101, 126, 127, 128, 168, 169, 170, 171, 172, 173, 191, 192, 193, 223, 255];
  for (let i = 0; i < 20000; i++) {
    const a = i % 2 ? firstV4[rnd(firstV4.length)]! : rnd(256);
    const ip = `${a}.${rnd(256)}.${rnd(256)}.${rnd(256)}`;
    assert.equal(isPrivateAddress(ip), reference(ip), ip);
    const mapped = `::ffff:${ip}`;
    assert.equal(isPrivateAddress(mapped), reference(mapped), mapped);
  }
  const firstV6 = [0, 1, 0x2001, 0xfb00, 0xfbff, 0xfc00, 0xfd12, 0xfdff, 0xfe00, 0xfe7f, 0xfe80, 0xfebf, 0xfec0, 0xff02];
  for (let i = 0; i < 20000; i++) {
    const g = Array.from({ length: 8 }, () => rnd(4) === 0 ? 0 : rnd(65536));
    g[0] = i % 2 ? firstV6[rnd(firstV6.length)]! : rnd(65536);
    const ip = ipaddr.fromByteArray(g.flatMap((x) => [x >> 8, x & 255])).toString();
    assert.equal(isPrivateAddress(ip), reference(ip), ip);
  }
  for (const ip of ['::', '::1', '::2', 'fe80::', 'febf:ffff::', 'fc00::', 'fdff::1', 'FE80::1', '0.0.0.0', '255.255.255.255', 'not-an-ip', '', '1.2.3', '::ffff:10.0.0.1']) {
    assert.equal(isPrivateAddress(ip), reference(ip), ip);
  }
});
