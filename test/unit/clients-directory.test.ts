import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { macFromEui64, openClients, parseNeighbours } from '../../src/clients/index.js';

/** `ip -j neigh show` in a lab gateway before any LAN traffic (captured). */
const NEIGH_EMPTY_LAN = '[{"dst":"fe80::77:ff:fe00:11","dev":"br-lan","lladdr":"02:77:00:00:00:11","state":["STALE"]}]\n';
/** The same gateway after client 1 reached the internet over IPv4 and IPv6 (captured). */
const NEIGH_AFTER =
  '[{"dst":"192.0.2.1","dev":"wan0","lladdr":"02:77:00:00:01:01","state":["REACHABLE"]},' +
  '{"dst":"10.77.0.10","dev":"br-lan","lladdr":"02:77:00:00:00:10","state":["DELAY"]},' +
  '{"dst":"fe80::77:ff:fe00:11","dev":"br-lan","lladdr":"02:77:00:00:00:11","state":["STALE"]},' +
  '{"dst":"fe80::77:ff:fe00:101","dev":"wan0","lladdr":"02:77:00:00:01:01","state":["DELAY"]},' +
  '{"dst":"2001:db8:ffff::1","dev":"wan0","lladdr":"02:77:00:00:01:01","router":null,"state":["REACHABLE"]},' +
  '{"dst":"fd77::10","dev":"br-lan","lladdr":"02:77:00:00:00:10","state":["DELAY"]}]\n';
/** Entries the kernel keeps while it resolves or after it gave up: no lladdr (shape of iproute2 6.x). */
const NEIGH_UNRESOLVED =
  '[{"dst":"10.77.0.99","dev":"br-lan","state":["INCOMPLETE"]},{"dst":"fd77::99","dev":"br-lan","state":["FAILED"]},' +
  '{"dst":"10.77.0.10","dev":"br-lan","lladdr":"02:77:00:00:00:10","state":["STALE"]}]';

const ALICE = '02:77:00:00:00:10';
const BOB = '02:77:00:00:00:11';

/** A neighbour table the test changes, a clock it moves, and a count of reads. */
function fakeKernel(initial: string) {
  const k = { table: initial, now: 1_000_000, reads: 0 };
  const readNeighbours = async () => {
    k.reads++;
    return k.table;
  };
  return { k, readNeighbours, clock: () => k.now };
}

describe('parseNeighbours', () => {
  it('reads address/MAC pairs from real ip -j neigh output, LAN interfaces only when given', () => {
    assert.deepEqual(parseNeighbours(NEIGH_AFTER, ['br-lan']), [
      { ip: '10.77.0.10', mac: ALICE },
      { ip: 'fe80::77:ff:fe00:11', mac: BOB },
      { ip: 'fd77::10', mac: ALICE },
    ]);
    assert.equal(parseNeighbours(NEIGH_AFTER).length, 6);
  });

  it('skips entries without a link-layer address, and non-Ethernet or zero addresses', () => {
    assert.deepEqual(parseNeighbours(NEIGH_UNRESOLVED), [{ ip: '10.77.0.10', mac: ALICE }]);
    const odd = '[{"dst":"10.0.0.1","lladdr":"00:00:00:00:00:00"},{"dst":"10.0.0.2","lladdr":"80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:01:02:03"},{"dst":"10.0.0.3","lladdr":"AA:BB:CC:DD:EE:FF"},null,7]';
    assert.deepEqual(parseNeighbours(odd), [{ ip: '10.0.0.3', mac: 'aa:bb:cc:dd:ee:ff' }]);
  });

  it('throws on output that is not a JSON array, so what was known stays known', () => {
    assert.throws(() => parseNeighbours('Object "neigh" is unknown'));
    assert.throws(() => parseNeighbours('{"dst":"10.0.0.1"}'));
  });
});

describe('macFromEui64', () => {
  it('finds the MAC inside a SLAAC (modified EUI-64) address, and nothing in others', () => {
    assert.equal(macFromEui64('fe80::77:ff:fe00:11'), BOB);
    assert.equal(macFromEui64('2001:db8::211:22ff:fe33:4455'), '00:11:22:33:44:55');
    assert.equal(macFromEui64('fd77::10'), undefined);
    assert.equal(macFromEui64('10.77.0.10'), undefined);
    assert.equal(macFromEui64('::ffff:10.77.0.10'), undefined);
  });
});

describe('the clients directory', () => {
  it('groups a device\'s IPv4 and IPv6 addresses by MAC, and names both from the config', async () => {
    const { readNeighbours, clock } = fakeKernel(NEIGH_AFTER);
    const c = openClients({ names: new Map([[ALICE, 'alice-laptop']]), interfaces: ['br-lan'], readNeighbours, clock });
    assert.deepEqual(await c.whoIs('10.77.0.10'), { mac: ALICE, name: 'alice-laptop' });
    assert.deepEqual(await c.whoIs('fd77::10'), { mac: ALICE, name: 'alice-laptop' });
    // Any spelling of the address is the same address.
    assert.deepEqual(await c.whoIs('FD77:0:0::10'), { mac: ALICE, name: 'alice-laptop' });
    const d = await c.device('fd77::10');
    assert.deepEqual(d && { ipv4: d.ipv4, ipv6: d.ipv6 }, { ipv4: ['10.77.0.10'], ipv6: ['fd77::10'] });
    // The WAN's router is not a LAN device.
    assert.deepEqual(await c.whoIs('192.0.2.1'), { mac: null, name: null });
    assert.deepEqual((await c.devices()).map((x) => x.mac).sort(), [ALICE, BOB]);
  });

  it('gives an IPv6 address the DHCP hostname of the IPv4 lease that shares its MAC', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'n4-leases-'));
    try {
      const leases = join(dir, 'dnsmasq.leases');
      await writeFile(leases, `1900000000 ${ALICE.toUpperCase()} 10.77.0.10 alices-pc 01:02:77:00:00:00:10\nduid 00:01:00:01:2c:aa\n1900000000 1234 fd77::10 alices-pc 00:01:00:01\n`);
      const { readNeighbours, clock } = fakeKernel(NEIGH_AFTER);
      const c = openClients({ names: new Map(), dhcpLeases: leases, readNeighbours, clock });
      assert.deepEqual(await c.whoIs('fd77::10'), { mac: ALICE, name: 'alices-pc' });
      // A configured name beats the lease's hostname.
      const named = openClients({ names: new Map([[ALICE, 'alice-laptop']]), dhcpLeases: leases, readNeighbours, clock });
      assert.deepEqual(await named.whoIs('fd77::10'), { mac: ALICE, name: 'alice-laptop' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('re-reads the table when an address seen after the last read is missing from it', async () => {
    const { k, readNeighbours, clock } = fakeKernel(NEIGH_EMPTY_LAN);
    const c = openClients({ names: new Map([[ALICE, 'alice-laptop']]), readNeighbours, clock });
    assert.deepEqual(await c.whoIs('fe80::77:ff:fe00:11'), { mac: BOB, name: null });
    // Alice's addresses enter the table (the gateway answered her) a moment after the last read.
    k.now += 300;
    k.table = NEIGH_AFTER;
    const seenAt = k.now;
    k.now += 100;
    assert.deepEqual(await c.whoIs('fd77::10', seenAt), { mac: ALICE, name: 'alice-laptop' });
    assert.equal(k.reads, 2);
  });

  it('bounds the reads a never-known address causes', async () => {
    const { k, readNeighbours, clock } = fakeKernel(NEIGH_AFTER);
    const c = openClients({ names: new Map(), readNeighbours, clock });
    await c.whoIs('10.77.0.10');
    for (let i = 0; i < 100; i++) {
      k.now += 50;
      assert.deepEqual(await c.whoIs('192.0.2.2'), { mac: null, name: null });
    }
    // 5 s of lookups every 50 ms: one read per second at most, plus the first.
    assert.ok(k.reads <= 6, `${k.reads} reads`);
    // With the moment it was seen, a collection re-reads once for all its misses.
    const before = k.reads;
    const seenAt = k.now;
    k.now += 10;
    await Promise.all(['192.0.2.2', '192.0.2.3', '2001:db8::1'].map((ip) => c.whoIs(ip, seenAt)));
    assert.equal(k.reads, before + 1);
  });

  it('keeps what it knew when the table cannot be read, and moves an address that changed device', async () => {
    const { k, readNeighbours, clock } = fakeKernel(NEIGH_AFTER);
    const c = openClients({ names: new Map(), readNeighbours, clock });
    assert.equal((await c.whoIs('10.77.0.10')).mac, ALICE);
    k.table = 'Error: netlink says no';
    k.now += 6000;
    assert.equal((await c.whoIs('10.77.0.10')).mac, ALICE);
    k.table = `[{"dst":"10.77.0.10","dev":"br-lan","lladdr":"${BOB}","state":["REACHABLE"]}]`;
    k.now += 6000;
    assert.equal((await c.whoIs('10.77.0.10')).mac, BOB);
    const alice = await c.device('fd77::10');
    assert.deepEqual(alice?.ipv4, [], 'the address left the device it was on');
  });

  it('names a SLAAC address by the MAC inside it only for a device it already knows', async () => {
    const { readNeighbours, clock } = fakeKernel(NEIGH_AFTER);
    const c = openClients({ names: new Map([[ALICE, 'alice-laptop']]), readNeighbours, clock });
    assert.deepEqual(await c.whoIs('fd77::77:ff:fe00:10'), { mac: ALICE, name: 'alice-laptop' });
    assert.deepEqual(await c.whoIs('fd77::211:22ff:fe33:4455'), { mac: null, name: null });
  });

  it('forgets an address an hour after it left the table', async () => {
    const { k, readNeighbours, clock } = fakeKernel(NEIGH_AFTER);
    const c = openClients({ names: new Map(), readNeighbours, clock });
    assert.equal((await c.whoIs('fd77::10')).mac, ALICE);
    k.table = NEIGH_EMPTY_LAN;
    k.now += 30 * 60_000;
    assert.equal((await c.whoIs('fd77::10')).mac, ALICE, 'still known half an hour later');
    k.now += 31 * 60_000;
    assert.equal((await c.whoIs('fd77::10')).mac, null);
    assert.deepEqual((await c.devices()).map((d) => d.mac), [BOB]);
  });

  it('tells of each address it learns once, marking a device the LAN had not shown before', async () => {
    const { k, readNeighbours, clock } = fakeKernel(NEIGH_EMPTY_LAN);
    const seen: { mac: string; address: string; newDevice: boolean }[] = [];
    const c = openClients({ names: new Map(), interfaces: ['br-lan'], readNeighbours, clock, onSeen: ({ mac, address, newDevice }) => seen.push({ mac, address, newDevice }) });
    await c.devices();
    assert.deepEqual(seen, [{ mac: BOB, address: 'fe80::77:ff:fe00:11', newDevice: true }]);
    // The same table again tells nothing; a table with Alice's addresses tells of her, once each.
    k.now += 10_000;
    await c.devices();
    assert.equal(seen.length, 1);
    k.table = NEIGH_AFTER;
    k.now += 10_000;
    await c.devices();
    assert.deepEqual(seen.slice(1), [
      { mac: ALICE, address: '10.77.0.10', newDevice: true },
      { mac: ALICE, address: 'fd77::10', newDevice: false },
    ]);
  });
});
