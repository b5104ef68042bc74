import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLOCK_HOURLY_BACKFILL, BlockEventRepo, openDb, type BlockHit, type Db } from '../../src/store/index.js';

const H = 3600_000;
const hit = (o: Partial<BlockHit> & Pick<BlockHit, 'clientIp' | 'remoteIp' | 'seenAt'>): BlockHit => ({
  direction: 'outbound', clientMac: null, clientName: null, protocol: 'tcp', port: 443, mode: 'blocked', packets: 1, bytes: 60, decisions: [], ...o,
});

function store(t: TestContext): { db: Db; repo: BlockEventRepo; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gh-web-summary-'));
  const db = openDb(dir);
  const repo = new BlockEventRepo(db);
  t.after(async () => {
    await repo.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { db, repo, dir };
}

describe('block report: the overview summary and paging', () => {
  it('counts per hour and direction, ranks clients and remotes, and leaves out what is older than the window', async (t) => {
    const { repo } = store(t);
    const now = 100 * H;
    repo.record([
      hit({ clientIp: '10.0.0.2', clientName: 'alice', remoteIp: '203.0.113.1', seenAt: now - 2 * H, packets: 5, domain: 'phish.example' }),
      hit({ clientIp: '10.0.0.2', clientName: 'alice', remoteIp: '203.0.113.2', seenAt: now - 1 * H, packets: 1 }),
      hit({ clientIp: '10.0.0.3', remoteIp: '203.0.113.1', seenAt: now - 1 * H, packets: 2 }),
      hit({ clientIp: '10.0.0.3', remoteIp: '198.51.100.9', seenAt: now - 1 * H, packets: 8, direction: 'inbound' }),
      hit({ clientIp: '10.0.0.4', remoteIp: '203.0.113.3', seenAt: now - 30 * H, packets: 100 }),
    ]);
    // The counts are made by the worker thread on its own connection to the file: this proves it sees the rows.
    const s = await repo.summary(now - 24 * H, { now, fresh: true });
    assert.deepEqual(s.hourly, [
      { hour: now - 2 * H, direction: 'outbound', count: 5 },
      { hour: now - 1 * H, direction: 'inbound', count: 8 },
      { hour: now - 1 * H, direction: 'outbound', count: 3 },
    ]);
    assert.deepEqual(s.topClients, [
      { clientIp: '10.0.0.2', clientName: 'alice', count: 6, remotes: 2 },
      { clientIp: '10.0.0.3', clientName: null, count: 2, remotes: 1 },
    ]);
    assert.deepEqual(s.topRemotes.slice(0, 2), [
      { remoteIp: '198.51.100.9', direction: 'inbound', count: 8, clients: 1, domain: null },
      { remoteIp: '203.0.113.1', direction: 'outbound', count: 7, clients: 2, domain: 'phish.example' },
    ]);
    assert.ok(s.remotesAsOf > 0);
    assert.deepEqual(repo.clientCounts(now - 24 * H), [
      { clientIp: '10.0.0.2', clientName: 'alice', count: 6 },
      { clientIp: '10.0.0.3', clientName: null, count: 2 },
    ]);
    assert.equal(repo.clientCounts(now - 48 * H)[0]!.count, 100, 'a wider window takes the older hours in');

    // Paging: the cursor of the last row gives the rest, nothing twice, nothing lost, with a filter too.
    const first = repo.list({ limit: 2 });
    const last = first[first.length - 1]!;
    const rest = repo.list({ limit: 10, before: { lastSeen: last.lastSeen, id: last.id } });
    assert.equal(first.length + rest.length, 5);
    assert.equal(new Set([...first, ...rest].map((b) => b.id)).size, 5);
    assert.deepEqual(repo.list({ direction: 'inbound' }).map((b) => b.remoteIp), ['198.51.100.9']);
  });

  it('counts attempts in the hour they were made, not all in the hour a long-lived row was last seen', async (t) => {
    const { repo } = store(t);
    const now = 200 * H;
    // One client/remote pair hit every hour for five hours: one block row, five hourly counts.
    for (let i = 5; i >= 1; i--) repo.record([hit({ clientIp: '10.0.0.2', remoteIp: '203.0.113.1', seenAt: now - i * H + 60_000, packets: i })]);
    const s = await repo.summary(now - 24 * H, { now, fresh: true });
    assert.deepEqual(s.hourly.map((h) => h.count), [5, 4, 3, 2, 1]);
    assert.equal(repo.list().length, 1);
  });

  it('serves the last count of remotes at once and counts anew behind it; fresh waits for the new count', async (t) => {
    const { repo } = store(t);
    const now = Date.now();
    repo.record([hit({ clientIp: '10.0.0.2', remoteIp: '203.0.113.1', seenAt: now - 1000, packets: 3 })]);
    const a = await repo.summary(now - 24 * H, { fresh: true });
    assert.equal(a.topRemotes[0]!.count, 3);
    repo.record([hit({ clientIp: '10.0.0.2', remoteIp: '203.0.113.1', seenAt: now, packets: 4 })]);
    const b = await repo.summary(now - 24 * H);
    assert.equal(b.topRemotes[0]!.count, 3, 'the kept count (younger than 30 s)');
    assert.equal(b.hourly.reduce((n, h) => n + h.count, 0), 7, 'the hourly counts are never behind');
    const c = await repo.summary(now - 24 * H, { fresh: true });
    assert.equal(c.topRemotes[0]!.count, 7);
    assert.ok(c.remotesAsOf >= a.remotesAsOf);
  });

  it('builds the hourly counts of a database made before they existed, and purges whole hours', (t) => {
    const { db, repo } = store(t);
    const now = 300 * H;
    repo.record([hit({ clientIp: '10.0.0.2', remoteIp: '203.0.113.1', seenAt: now - 3 * H, packets: 2 }), hit({ clientIp: '10.0.0.5', remoteIp: '203.0.113.9', seenAt: now - 1 * H, packets: 9 })]);
    db.exec('DELETE FROM block_hourly');
    assert.deepEqual(repo.clientCounts(now - 24 * H), []);
    db.exec(BLOCK_HOURLY_BACKFILL);
    assert.deepEqual(repo.clientCounts(now - 24 * H).map((c) => [c.clientIp, c.count]), [['10.0.0.5', 9], ['10.0.0.2', 2]]);
    assert.equal(repo.purge(now - 2 * H), 1);
    assert.deepEqual(repo.clientCounts(0).map((c) => c.clientIp), ['10.0.0.5']);
  });
});
