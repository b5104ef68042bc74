import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LapiStreamClient } from '../../src/crowdsec/client/index.js';
import { startListFeed, type FileFeedConfig } from '../../src/feeds/index.js';
import { openDecisionStore } from '../../src/decisions/store-service.js';
import { createScheduler, ManualClock } from '../../src/scheduler/index.js';
import { feedDeps } from './helpers/feed-deps.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const quiet = { info: () => {}, warn: () => {} };

describe('feeds on the scheduler', () => {
  it('a list feed refreshes at start and then every `refresh` on the clock, announcing each outcome on the bus', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-n2-feed-'));
    dirs.push(dir);
    const store = openDecisionStore(dir);
    const file = join(dir, 'list.txt');
    writeFileSync(file, '198.51.100.1\n198.51.100.2\n198.51.100.3\n198.51.100.4\n');
    const cfg: FileFeedConfig = { name: 'bad', type: 'file', path: file, format: 'plain', direction: 'outbound', refresh: 60_000, timeout: 10_000, max_shrink: 0.5, min_score: 1, duration: 172_800_000 };
    const deps = feedDeps(store, quiet, { clock: new ManualClock(0) });
    const seen: string[] = [];
    store.events.subscribe('feeds.refreshed', (e) => seen.push(`${deps.clock.now()} ${e.feed} ${e.outcome} ${e.entries}`));
    store.events.subscribe('feeds.refused', (e) => seen.push(`${deps.clock.now()} ${e.feed} ${e.outcome}`));
    const feed = startListFeed(cfg, deps);
    const job = deps.scheduler.jobs()[0]!;
    try {
      assert.equal(feed.status().nextRunAt, 0, 'the first refresh is due at start');
      await deps.clock.advance(0);
      await job.idle();
      assert.equal(store.service.count({ origin: 'feed:bad' }), 4);
      assert.equal(feed.status().nextRunAt, 60_000);

      // A list that lost most of its lines is refused by the guard at the next scheduled refresh, not before.
      writeFileSync(file, '198.51.100.1\n');
      await deps.clock.advance(59_999);
      assert.equal(seen.length, 1);
      await deps.clock.advance(1);
      await job.idle();
      assert.deepEqual(seen, ['0 bad applied 4', '60000 bad refused']);
      assert.equal(store.service.count({ origin: 'feed:bad' }), 4, 'a refused list changes nothing');
      assert.equal(feed.status().lastAttemptAt, 60_000);
      assert.equal(feed.status().lastSuccessAt, 0);
    } finally {
      await feed.stop();
      store.close();
    }
    assert.equal(deps.clock.pending, 0, 'a stopped feed leaves no timer');
  });
});

describe('CrowdSec stream client on the scheduler', () => {
  it('polls at start, backs off 1 s, 2 s, 4 s (capped) while the LAPI fails, then resyncs and polls every interval', async () => {
    const clock = new ManualClock(0);
    const scheduler = createScheduler({ clock, log: { error: () => {} } });
    const replies = [500, 500, 500, 500, 200, 200];
    const polls: string[] = [];
    const server = createServer((req, res) => {
      const status = replies.shift() ?? 200;
      polls.push(`${clock.now()} startup=${new URL(req.url ?? '', 'http://x').searchParams.get('startup')} ${status}`);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? '{"deleted":null,"new":null}' : '{"message":"database is locked"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const c = new LapiStreamClient({ url, apiKey: 'k', intervalMs: 10_000, userAgent: 'ua', backoffInitialMs: 1000, backoffMaxMs: 4000, scheduler, onUpdate: () => {}, onError: () => {} });
    try {
      c.start();
      const job = scheduler.jobs()[0]!;
      // Each step: let the due poll fire, wait for its HTTP round trip, then read when the next one is due.
      const next: (number | null)[] = [];
      for (let i = 0; i < 6; i++) {
        await clock.advance((job.nextRunAt ?? 0) - clock.now());
        await job.idle();
        next.push(job.nextRunAt);
      }
      assert.deepEqual(polls, [
        '0 startup=true 500',
        '1000 startup=true 500',
        '3000 startup=true 500',
        '7000 startup=true 500',
        '11000 startup=true 200',
        '21000 startup=false 200',
      ]);
      assert.deepEqual(next, [1000, 3000, 7000, 11_000, 21_000, 31_000]);
      assert.equal(c.stats.errors, 4);
      assert.equal(c.stats.consecutiveErrors, 0);
    } finally {
      await c.stop();
      server.close();
    }
    assert.equal(clock.pending, 0);
  });
});
