/**
 * The runtime's pure parts: which group (and so which lists) a client gets — by IP, CIDR, MAC or device
 * name, opt-outs overriding groups — LAN names as DNS names, reverse names, and what counts as a private
 * answer for rebinding protection.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LanDevice } from '../../src/clients/index.js';
import { configFromObject } from '../../src/daemon/index.js';
import { buildGroupTable, clientTags, dnsLabel, listLayout, localHosts } from '../../src/dns/groups.js';
import { isPrivateAddress, LocalNames, reverseToIp } from '../../src/dns/worker/special.js';

const dns = configFromObject(
  {
    dns: {
      upstreams: ['9.9.9.9'],
      blocklists: [
        { name: 'ads', type: 'file', path: '/x/ads' },
        { name: 'phish', type: 'file', path: '/x/phish', category: 'security' },
      ],
      allowlists: [{ name: 'fixes', type: 'file', path: '/x/fixes' }],
      groups: [
        { name: 'kids', clients: ['02:00:00:00:00:01', '10.0.0.0/24'], blocklists: ['phish'] },
        { name: 'guests', clients: ['tablet'] },
      ],
    },
  },
  'test.yaml',
).dns!;

const device = (mac: string, name: string | null, ipv4: string[], ipv6: string[] = []): LanDevice => ({ mac, name, ipv4, ipv6, lastSeen: 0 });
const devices = [device('02:00:00:00:00:01', 'Kid Laptop', ['10.1.0.5'], ['fd00::5']), device('02:00:00:00:00:02', 'tablet', ['10.1.0.6']), device('02:00:00:00:00:03', null, ['10.1.0.7'])];

describe('dns groups', () => {
  const layout = listLayout(dns);
  const ADS = 1 << 0;
  const PHISH = 1 << 1;
  const FIXES = 1 << 2;

  it('gives list ids in config order and each group its mask (allowlists for everyone)', () => {
    assert.deepEqual(layout.names.slice(0, 3), ['ads', 'phish', 'fixes']);
    assert.equal(layout.masks.get('default'), ADS | PHISH | FIXES);
    assert.equal(layout.masks.get('kids'), PHISH | FIXES);
    assert.equal(layout.masks.get('guests'), ADS | PHISH | FIXES, 'no blocklists: = every blocklist');
    assert.equal(layout.masks.get('optout'), PHISH | FIXES, 'opt-out keeps security lists');
  });

  it('resolves MACs and device names to every address of the device, CIDRs stay ranges', () => {
    const t = buildGroupTable(dns, layout, [], devices);
    const byIp = new Map(t.clients.map(([ip, g]) => [ip, g]));
    assert.equal(byIp.get('10.1.0.5'), 'kids');
    assert.equal(byIp.get('fd00::5'), 'kids');
    assert.equal(byIp.get('10.1.0.6'), 'guests');
    assert.equal(byIp.has('10.1.0.7'), false);
    assert.deepEqual(t.ranges, [['10.0.0.0/24', 'kids', PHISH | FIXES]]);
    assert.equal(t.defaultGroup, 'default');
  });

  it('an opt-out beats the group that lists the same client', () => {
    const t = buildGroupTable(dns, layout, ['Kid Laptop', '10.9.0.0/16'], devices);
    const byIp = new Map(t.clients.map(([ip, g, m]) => [ip, [g, m]]));
    assert.deepEqual(byIp.get('10.1.0.5'), ['optout', PHISH | FIXES]);
    assert.equal(t.ranges[0]![1], 'optout');
  });

  it('names LAN devices as DNS names under the local domain', () => {
    assert.equal(dnsLabel("Anna's iPhone"), 'anna-s-iphone');
    assert.equal(dnsLabel('---'), undefined);
    assert.deepEqual(localHosts(devices, 'lan'), [
      { name: 'kid-laptop.lan', ips: ['10.1.0.5', 'fd00::5'] },
      { name: 'tablet.lan', ips: ['10.1.0.6'] },
    ]);
    assert.deepEqual(clientTags(devices.slice(2)), [['10.1.0.7', '02:00:00:00:00:03', null]]);
  });
});

describe('dns special names', () => {
  it('reads reverse names, refusing malformed ones', () => {
    assert.equal(reverseToIp('5.0.1.10.in-addr.arpa'), '10.1.0.5');
    assert.equal(reverseToIp('5.0.1.in-addr.arpa'), undefined);
    assert.equal(reverseToIp('500.0.1.10.in-addr.arpa'), undefined);
    assert.equal(reverseToIp('5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa'), 'fd00::5');
    assert.equal(reverseToIp('x.ip6.arpa'), undefined);
    assert.equal(reverseToIp('www.example.com'), undefined);
  });

  it('knows private answers (rebinding) from public ones', () => {
    for (const ip of ['10.1.2.3', '192.168.1.1', '172.16.0.1', '127.0.0.1', '169.254.1.1', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:192.168.1.1']) assert.ok(isPrivateAddress(ip), ip);
    for (const ip of ['192.0.2.1', '8.8.8.8', '2001:db8::1', '2606:4700::1111', 'not-an-ip']) assert.ok(!isPrivateAddress(ip), ip);
  });

  it('answers LAN names and their PTR; unknown names under the local domain are ours (NXDOMAIN)', () => {
    const l = new LocalNames('lan');
    l.load(localHosts(devices, 'lan'));
    assert.deepEqual(l.addresses('kid-laptop.lan'), ['10.1.0.5', 'fd00::5']);
    assert.deepEqual(l.addresses('nobody.lan'), []);
    assert.equal(l.addresses('www.example.com'), undefined);
    assert.equal(l.ptr('6.0.1.10.in-addr.arpa'), 'tablet.lan');
    assert.equal(l.ptr('9.9.1.10.in-addr.arpa'), '', 'a private address without a name stays here');
    assert.equal(l.ptr('1.2.0.192.in-addr.arpa'), undefined, 'a public address goes upstream');
  });
});
