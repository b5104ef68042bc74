import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { openDb, type Db } from '../../src/store/db.js';
import { BlockEventRepo, type BlockHit } from '../../src/store/block-events.js';

function repo(t: TestContext): { repo: BlockEventRepo; db: Db; dir: string; reopen(): BlockEventRepo } {
  const dir = mkdtempSync(join(tmpdir(), 'gh-blocks-'));
  const state = { db: openDb(dir) };
  t.after(() => {
    state.db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    repo: new BlockEventRepo(state.db),
    get db() {
      return state.db;
    },
    dir,
    reopen() {
      state.db.close();
      state.db = openDb(dir);
      return new BlockEventRepo(state.db);
    },
  };
}

const hit = (over: Partial<BlockHit> = {}): BlockHit => ({
  direction: 'outbound',
  clientIp: '192.168.1.10',
  clientMac: 'aa:bb:cc:dd:ee:01',
  clientName: 'laptop',
  remoteIp: '203.0.113.5',
  protocol: 'tcp',
  port: 443,
  mode: 'blocked',
  seenAt: 1000,
  packets: 1,
  bytes: 60,
  decisions: [{ id: 7, origin: 'feed:x', scenario: 'list', reason: 'malware' }],
  ...over,
});

describe('BlockEventRepo', () => {
  it('adds up repeated hits on the same key and tracks first and last seen', (t) => {
    const { repo: r } = repo(t);
    r.record([hit({ seenAt: 1000, packets: 2, bytes: 120 })]);
    r.record([hit({ seenAt: 5000, packets: 3, bytes: 180, decisions: [] })]);
    // A late-arriving older sample must not move last_seen backwards.
    r.record([hit({ seenAt: 4000, packets: 1, bytes: 60, clientMac: null, clientName: null })]);
    const [e, ...rest] = r.list();
    assert.equal(rest.length, 0);
    assert.deepEqual([e!.count, e!.bytes, e!.firstSeen, e!.lastSeen], [6, 360, 1000, 5000]);
    assert.deepEqual([e!.clientMac, e!.clientName], ['aa:bb:cc:dd:ee:01', 'laptop'], 'a hit without a known device keeps the known one');
    assert.deepEqual(e!.decisions, [{ id: 7, origin: 'feed:x', scenario: 'list', reason: 'malware' }], 'a hit without decisions keeps the known ones');
    r.record([hit({ seenAt: 6000, decisions: [{ id: 9, origin: 'manual', scenario: '', reason: 'new' }] })]);
    assert.deepEqual(r.list()[0]!.decisions.map((d) => d.id), [9]);
  });

  it('keeps separate rows per direction, client, remote, protocol, port and mode', (t) => {
    const { repo: r } = repo(t);
    r.record([
      hit(),
      hit({ direction: 'inbound' }),
      hit({ clientIp: '192.168.1.11' }),
      hit({ remoteIp: '203.0.113.6' }),
      hit({ protocol: 'udp' }),
      hit({ port: 80 }),
      hit({ mode: 'monitored' }),
      hit(),
    ]);
    const all = r.list();
    assert.equal(all.length, 7);
    assert.equal(all.reduce((n, e) => n + e.count, 0), 8);
  });

  it('filters by direction, since, client (ip, mac or name), remote; newest first; limit', (t) => {
    const { repo: r } = repo(t);
    r.record([
      hit({ seenAt: 1000, clientIp: '192.168.1.10', clientMac: 'aa:bb:cc:dd:ee:01', clientName: 'laptop', remoteIp: '203.0.113.1' }),
      hit({ seenAt: 2000, clientIp: '192.168.1.11', clientMac: 'aa:bb:cc:dd:ee:02', clientName: 'phone', remoteIp: '203.0.113.2' }),
      hit({ seenAt: 3000, direction: 'inbound', clientIp: '192.168.1.12', clientMac: null, clientName: null, remoteIp: '198.51.100.7' }),
    ]);
    const remotes = (es: { remoteIp: string }[]): string[] => es.map((e) => e.remoteIp);
    assert.deepEqual(remotes(r.list()), ['198.51.100.7', '203.0.113.2', '203.0.113.1']);
    assert.deepEqual(remotes(r.list({ direction: 'outbound' })), ['203.0.113.2', '203.0.113.1']);
    assert.deepEqual(remotes(r.list({ direction: 'inbound' })), ['198.51.100.7']);
    assert.deepEqual(remotes(r.list({ since: 2000 })), ['198.51.100.7', '203.0.113.2']);
    assert.deepEqual(remotes(r.list({ client: '192.168.1.10' })), ['203.0.113.1']);
    assert.deepEqual(remotes(r.list({ client: 'AA:BB:CC:DD:EE:02' })), ['203.0.113.2'], 'MAC match ignores case');
    assert.deepEqual(remotes(r.list({ client: 'phone' })), ['203.0.113.2']);
    assert.deepEqual(remotes(r.list({ client: 'nobody' })), []);
    assert.deepEqual(remotes(r.list({ remote: '203.0.113.1' })), ['203.0.113.1']);
    assert.deepEqual(remotes(r.list({ direction: 'outbound', since: 1500, client: 'phone' })), ['203.0.113.2']);
    assert.deepEqual(remotes(r.list({ limit: 1 })), ['198.51.100.7']);
    assert.equal(r.list({ limit: 0 }).length, 1, 'a limit below 1 still returns the newest row');
  });

  it('purges rows last seen before a time', (t) => {
    const { repo: r } = repo(t);
    r.record([hit({ seenAt: 1000, port: 1 }), hit({ seenAt: 2000, port: 2 }), hit({ seenAt: 3000, port: 3 })]);
    assert.equal(r.purge(2000), 1);
    assert.deepEqual(r.list().map((e) => e.port), [3, 2]);
    assert.equal(r.purge(0), 0);
  });

  it('saves and loads the counter baseline, survives a reopen, and forgets gone keys', (t) => {
    const f = repo(t);
    assert.deepEqual(f.repo.loadBaseline(), new Map());
    f.repo.saveBaseline(
      new Map([
        ['out4|a', { packets: 5, bytes: 300 }],
        ['out4|b', { packets: 1, bytes: 60 }],
      ]),
      [],
    );
    f.repo.saveBaseline(new Map([['out4|a', { packets: 9, bytes: 540 }]]), ['out4|b', 'never-there']);
    f.repo.record([hit()]);
    const r2 = f.reopen();
    assert.deepEqual(r2.loadBaseline(), new Map([['out4|a', { packets: 9, bytes: 540 }]]));
    assert.equal(r2.list().length, 1);
  });

  it('ignores an empty batch', (t) => {
    const { repo: r } = repo(t);
    r.record([]);
    assert.deepEqual(r.list(), []);
  });
});
