import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockEventRepo, openDb, type BlockHit } from '../../src/store/index.js';

const H = 3600_000;
const hit = (o: Partial<BlockHit> & Pick<BlockHit, 'clientIp' | 'remoteIp' | 'seenAt'>): BlockHit => ({
  direction: 'outbound', clientMac: null, clientName: null, protocol: 'tcp', port: 443, mode: 'blocked', packets: 1, bytes: 60, decisions: [], ...o,
});

describe('block report: the overview summary and paging', () => {
  it('counts per hour and direction, ranks clients and remotes, and leaves out what is older than the window', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-web-summary-'));
    const db = openDb(dir);
    t.after(() => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const repo = new BlockEventRepo(db);
    const now = 100 * H;
    repo.record([
      hit({ clientIp: '10.0.0.2', clientName: 'alice', remoteIp: '203.0.113.1', seenAt: now - 2 * H, packets: 5, domain: 'phish.example' }),
      hit({ clientIp: '10.0.0.2', clientName: 'alice', remoteIp: '203.0.113.2', seenAt: now - 1 * H, packets: 1 }),
      hit({ clientIp: '10.0.0.3', remoteIp: '203.0.113.1', seenAt: now - 1 * H, packets: 2 }),
      hit({ clientIp: '10.0.0.3', remoteIp: '198.51.100.9', seenAt: now - 1 * H, packets: 8, direction: 'inbound' }),
      hit({ clientIp: '10.0.0.4', remoteIp: '203.0.113.3', seenAt: now - 30 * H, packets: 100 }),
    ]);
    const s = repo.summary(now - 24 * H);
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

    // A window larger than one summary reads: the newest rows, and the summary says from when.
    const capped = repo.summary(now - 24 * H, 10, 2);
    assert.deepEqual(capped.partial, { rows: 2, from: now - 1 * H });
    assert.equal(repo.summary(now - 24 * H, 10, 100).partial, undefined);

    // Paging: the cursor of the last row gives the rest, nothing twice, nothing lost, with a filter too.
    const first = repo.list({ limit: 2 });
    const last = first[first.length - 1]!;
    const rest = repo.list({ limit: 10, before: { lastSeen: last.lastSeen, id: last.id } });
    assert.equal(first.length + rest.length, 5);
    assert.equal(new Set([...first, ...rest].map((b) => b.id)).size, 5);
    assert.deepEqual(repo.list({ direction: 'inbound' }).map((b) => b.remoteIp), ['198.51.100.9']);
  });
});
