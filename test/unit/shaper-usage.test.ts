/**
 * What the shaper reads back: tc's class counters (text, iproute2 6.1 has no JSON for HTB classes), conntrack's
 * connections per client, and the hourly usage kept in a real SQLite store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDb } from '../../src/store/db.js';
import { clientAddress } from '../../src/shaper/addr.js';
import { countConnections, parseConntrack } from '../../src/shaper/p2p/index.js';
import { parseClassStats } from '../../src/shaper/tc.js';
import { HOUR_MS, shaperMigrations, UsageRepo } from '../../src/shaper/usage.js';

const TC = `class htb 1:11 parent 1:10 leaf 11: prio 0 rate 8Kbit ceil 40Mbit burst 3028b cburst 50000b 
 Sent 1234567 bytes 890 pkt (dropped 3, overlimits 12 requeues 0) 
 backlog 0b 0p requeues 0
 lended: 0 borrowed: 0 giants: 0
 tokens: 47312500 ctokens: 156250

class htb 1:1 root rate 40Mbit ceil 40Mbit burst 50000b cburst 50000b 
 Sent 99 bytes 1 pkt (dropped 0, overlimits 0 requeues 0) 
 backlog 0b 0p requeues 0
`;

const CONNTRACK = `ipv4     2 tcp      6 431999 ESTABLISHED src=10.77.0.10 dst=203.0.113.10 sport=40000 dport=80 src=203.0.113.10 dst=192.0.2.2 sport=80 dport=40000 [ASSURED] mark=0 use=1
ipv4     2 udp      17 29 src=10.77.0.10 dst=203.0.113.53 sport=5353 dport=53 src=203.0.113.53 dst=192.0.2.2 sport=53 dport=5353 mark=4 use=1
ipv6     10 tcp      6 431999 ESTABLISHED src=fd77::11 dst=2001:db8::10 sport=40001 dport=443 src=2001:db8::10 dst=2001:db8:1::2 sport=443 dport=40001 [ASSURED] mark=0 use=1
`;

describe('shaper readings', () => {
  it('class counters from tc text: minor, parent, bytes, packets, drops', () => {
    assert.deepEqual(parseClassStats(TC), [
      { minor: 0x11, parent: 0x10, bytes: 1234567, packets: 890, dropped: 3 },
      { minor: 0x1, parent: undefined, bytes: 99, packets: 1, dropped: 0 },
    ]);
    assert.deepEqual(parseClassStats(''), []);
  });

  it('addresses from the portal or a request are written the way nft prints them', () => {
    assert.equal(clientAddress('FD77:0:0:0:0:0:0:10'), 'fd77::10');
    assert.equal(clientAddress('10.77.0.10'), '10.77.0.10');
    assert.equal(clientAddress('10.77.0.010'), undefined);
    assert.equal(clientAddress('fe80::1%br-lan'), undefined);
    assert.equal(clientAddress('10.77.0.10; reboot'), undefined);
  });

  it('connections per client by the original source, both families', () => {
    assert.deepEqual([...countConnections(parseConntrack(CONNTRACK).flows)].sort(), [['10.77.0.10', 2], ['fd77::11', 1]]);
  });
});

describe('shaper hourly usage in the store', () => {
  const dir = mkdtempSync(join(tmpdir(), 's1-shaper-usage-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const db = openDb(dir, 'test.db', [shaperMigrations]);
  const repo = new UsageRepo(db);
  const h0 = Math.floor(Date.UTC(2026, 11, 1, 10) / HOUR_MS) * HOUR_MS;

  it('adds bytes per share and hour, summing repeated reads of the same hour', () => {
    repo.add([{ client: 'mac:02:77:00:00:00:10', hour: h0, down: 1000, up: 10 }]);
    repo.add([
      { client: 'mac:02:77:00:00:00:10', hour: h0, down: 500, up: 5 },
      { client: 'user:alice', hour: h0 + HOUR_MS, down: 7, up: 0 },
      { client: 'ip:10.77.0.99', hour: h0, down: 0, up: 0 },
    ]);
    assert.deepEqual(repo.rows(h0), [
      { client: 'mac:02:77:00:00:00:10', hour: h0, down: 1500, up: 15 },
      { client: 'user:alice', hour: h0 + HOUR_MS, down: 7, up: 0 },
    ]);
    assert.deepEqual(repo.rows(h0, 'user:alice'), [{ client: 'user:alice', hour: h0 + HOUR_MS, down: 7, up: 0 }]);
    assert.deepEqual(repo.totalsSince(h0 + 10), new Map([['mac:02:77:00:00:00:10', { down: 1500, up: 15 }], ['user:alice', { down: 7, up: 0 }]]));
  });

  it('prunes hours before a cut-off', () => {
    assert.equal(repo.pruneBefore(h0 + HOUR_MS), 1);
    assert.deepEqual(repo.rows(0).map((r) => r.client), ['user:alice']);
  });
});
