import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parseTarget } from '../../src/net/ip.js';
import { specialReason } from '../../src/net/special.js';
import { parseList } from '../../src/feeds/parse.js';
import { allowRefusal, banRefusal, localChecker, localRefusal, networkContextFromIpJson, type NetworkContext } from '../../src/net/target-guard.js';

/** shared/ lies beside the repository, here and in CI. */
const CORPUS = join(fileURLToPath(new URL('../../', import.meta.url)), '..', 'shared', 'corpora', 'lists', 'firehol_level1-2017-09-15.netset');

// What `ip -j addr show` says in the lab's gateway namespace (trimmed to the fields we read).
const IP_JSON = JSON.stringify([
  { ifindex: 1, ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
  {
    ifindex: 4,
    ifname: 'br-lan',
    addr_info: [
      { family: 'inet', local: '10.77.0.1', prefixlen: 24, scope: 'global' },
      { family: 'inet6', local: 'fd77::1', prefixlen: 64 },
      { family: 'inet6', local: 'fe80::77:1', prefixlen: 64, scope: 'link' },
    ],
  },
  { ifindex: 5, ifname: 'wan0', addr_info: [{ family: 'inet', local: '192.0.2.2', prefixlen: 24 }, { family: 'inet6', local: '2001:db8:ffff::2', prefixlen: 64 }] },
  { ifindex: 6, ifname: 'docker0', addr_info: [{ family: 'inet', local: '198.18.0.1', prefixlen: 16 }] },
  { ifindex: 7, ifname: 'odd', addr_info: [{ family: 'inet', local: 'garbage', prefixlen: 24 }, { family: 'inet' }] },
]);

const net: NetworkContext = networkContextFromIpJson(IP_JSON, ['br-lan', 'odd'], ['wan0']);
const ban = (v: string, ctx: NetworkContext = net) => banRefusal(parseTarget(v), ctx);

describe('network context from ip -j addr show', () => {
  it('takes LAN networks from the LAN interfaces and own addresses from LAN and WAN ones', () => {
    assert.deepEqual(
      net.lan.map((n) => `${n.ifname} ${n.target.text}`),
      ['br-lan 10.77.0.0/24', 'br-lan fd77::/64'],
    );
    assert.deepEqual(
      net.own.map((n) => `${n.ifname} ${n.target.text}`),
      ['br-lan 10.77.0.1', 'br-lan fd77::1', 'br-lan fe80::77:1', 'wan0 192.0.2.2', 'wan0 2001:db8:ffff::2'],
    );
  });
});

describe('banRefusal', () => {
  it('refuses everything, half of everything and other ranges broader than /8 (v4) or /16 (v6), saying what they would do', () => {
    assert.equal(ban('0.0.0.0/0'), '0.0.0.0/0 covers every IPv4 address: it would cut the LAN and this gateway off the internet');
    assert.equal(ban('::/0'), '::/0 covers every IPv6 address: it would cut the LAN and this gateway off the internet');
    assert.match(ban('128.0.0.0/1') ?? '', /^128\.0\.0\.0\/1 covers half of all IPv4 addresses: .*limited to \/8/);
    assert.match(ban('32.0.0.0/3') ?? '', /1\/8 of all IPv4 addresses/);
    assert.match(ban('2000::/3') ?? '', /IPv6.*limited to \/16/);
    assert.match(ban('2001::/15') ?? '', /limited to \/16/);
  });

  it('refuses the gateway own addresses, the LAN networks and special space', () => {
    assert.match(ban('192.0.2.2') ?? '', /own address 192\.0\.2\.2 \(wan0\)/);
    assert.match(ban('192.0.2.0/30') ?? '', /own address 192\.0\.2\.2/);
    assert.match(ban('2001:db8:ffff::/48') ?? '', /own address 2001:db8:ffff::2 \(wan0\)/);
    assert.match(ban('10.77.0.0/24') ?? '', /own address 10\.77\.0\.1|LAN network/);
    assert.match(ban('10.77.0.50') ?? '', /overlaps the LAN network 10\.77\.0\.0\/24 \(br-lan\)/);
    assert.match(ban('fd77::50') ?? '', /LAN network fd77::\/64/);
    assert.match(ban('10.99.0.1') ?? '', /private address space \(10\.0\.0\.0\/8\)/);
    assert.match(ban('127.0.0.1') ?? '', /loopback/);
    assert.match(ban('224.0.0.0/3') ?? '', /1\/8 of all IPv4 addresses/);
    assert.match(ban('239.1.2.0/24') ?? '', /multicast/);
    assert.match(ban('ff02::1') ?? '', /multicast/);
  });

  it('takes ordinary public addresses and ranges down to /8, and the WAN neighbours that are not the gateway', () => {
    for (const v of ['198.51.100.10', '203.0.113.0/24', '1.0.0.0/8', '102.0.0.0/9', '192.0.2.1', '192.0.2.128/25', '2001:db8:10::/48', '2a00::/16', '198.18.0.1']) {
      assert.equal(ban(v), undefined, v);
    }
  });

  it('without a context still refuses broad and special space', () => {
    assert.ok(banRefusal(parseTarget('0.0.0.0/0')));
    assert.ok(banRefusal(parseTarget('192.168.1.1')));
    assert.equal(banRefusal(parseTarget('192.0.2.2')), undefined);
  });

  it('keeps every public entry of a real FireHOL level1 list', () => {
    const lines = readFileSync(CORPUS, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    const refused = lines.map((l) => [l, banRefusal(parseTarget(l))] as const).filter(([, why]) => why !== undefined);
    // Only its bogons: 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.168/16, 224/3 (multicast+reserved).
    const notSpecial = refused.filter(([l]) => specialReason(parseTarget(l)) === undefined);
    assert.deepEqual(notSpecial, []);
    assert.ok(refused.length < 12, `${refused.length} refused`);
  });
});

describe('allowRefusal', () => {
  it('refuses only overly broad ranges: allowing the LAN or one address is legitimate', () => {
    assert.equal(allowRefusal(parseTarget('0.0.0.0/0')), '0.0.0.0/0 covers every IPv4 address: allowing it would turn all protection off');
    assert.match(allowRefusal(parseTarget('::/0')) ?? '', /every IPv6 address/);
    assert.match(allowRefusal(parseTarget('128.0.0.0/1')) ?? '', /half of all IPv4/);
    for (const v of ['10.0.0.0/8', '192.168.0.0/16', '10.77.0.1', 'fd00::/8', '1.0.0.0/8', '2001:db8::/32']) assert.equal(allowRefusal(parseTarget(v)), undefined, v);
  });
});

describe('list feeds', () => {
  it('leave out overly broad ranges too, not only special space, and keep a /8', () => {
    const p = parseList('32.0.0.0/3\n1.0.0.0/8\n2000::/3\n2a00::/16\n203.0.113.7\n', 'plain', {});
    assert.deepEqual(p.entries.map((t) => t.text).sort(), ['1.0.0.0/8', '203.0.113.7', '2a00::/16']);
    assert.equal(p.excludedSpecial, 2);
    assert.match(p.excludedSamples[0]?.why ?? '', /32\.0\.0\.0\/3 covers 1\/8 of all IPv4 addresses/);
  });
});

describe('localChecker', () => {
  it('answers like localRefusal, for the fast IPv4 targets of the feed parser too', () => {
    const check = localChecker(net)!;
    const values = ['10.77.0.9', '10.77.1.0/24', '10.0.0.0/8', '192.0.2.2', '192.0.2.3', '192.0.2.0/30', '198.51.100.1', 'fd77::9', '2001:db8:ffff::2', '2001:db8::1'];
    for (const v of values) assert.equal(check(parseTarget(v)), localRefusal(parseTarget(v), net), v);
    const fast = parseList(values.filter((v) => !v.includes(':')).join('\n'), 'plain', { keepSpecial: true }).entries;
    assert.deepEqual(
      fast.map((t) => [t.text, check(t) !== undefined]),
      [['10.77.0.9', true], ['10.77.1.0/24', false], ['10.0.0.0/8', true], ['192.0.2.2', true], ['192.0.2.3', false], ['192.0.2.0/30', true], ['198.51.100.1', false]],
    );
    assert.equal(localChecker({ lan: [], own: [] }), undefined);
  });
});
