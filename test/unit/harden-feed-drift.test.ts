import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { startListFeed, type FileFeedConfig } from '../../src/feeds/index.js';
import { openDecisionStore } from '../../src/decisions/store-service.js';
import { feedDeps } from './helpers/feed-deps.js';
import { parseTarget } from '../../src/net/ip.js';
import type { NetworkContext } from '../../src/net/target-guard.js';

/*
 * Issue #8, finding 3: a feed's state never drifts from the store. When its decisions are removed another
 * way (a watcher's delete, an admin delete by origin), the next refresh restores them even though the
 * list did not change ("not modified"), and `feeds list` counts what the store holds.
 */

const dir = mkdtempSync(join(tmpdir(), 'harden-drift-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('a refresh restores entries removed behind the feed, and the count follows the store', async () => {
  const store = openDecisionStore(dir);
  const file = join(dir, 'list.txt');
  writeFileSync(file, '198.51.100.1\n198.51.100.2\n203.0.113.0/24\n');
  const logs: string[] = [];
  const log = { info: (_o: object, m: string) => void logs.push(m), warn: (_o: object, m: string) => void logs.push(m) };
  const cfg: FileFeedConfig = { name: 'f', type: 'file', path: file, format: 'plain', direction: 'both', refresh: 86_400_000, timeout: 10_000, max_shrink: 0.5, min_score: 1, duration: 172_800_000 };
  const deps = feedDeps(store, log);
  const feed = startListFeed(cfg, deps);
  try {
    await deps.clock.advance(0);
    assert.equal((await feed.refresh()).entries, 3);
    const values = () => store.service.list({ origin: 'feed:f' }).map((d) => d.value).sort();

    store.service.deleteWhere({ origin: 'feed:f' });
    assert.equal(feed.status().entries, 0, 'feeds list counts what the store holds');
    const st = await feed.refresh();
    assert.deepEqual(values(), ['198.51.100.1', '198.51.100.2', '203.0.113.0/24'], 'restored although the file did not change');
    assert.equal(st.entries, 3);
    assert.equal(st.warning, null);
    assert.ok(logs.some((l) => /store holds 0 of its 3 entries/.test(l)), logs.join('\n'));

    // One entry removed by value (a watcher with a grant, say): restored too.
    store.service.deleteWhere({ value: '198.51.100.2' });
    assert.equal(feed.status().entries, 2);
    await feed.refresh();
    assert.deepEqual(values(), ['198.51.100.1', '198.51.100.2', '203.0.113.0/24']);

    // Nothing removed: a plain "not modified", no reload.
    logs.length = 0;
    await feed.refresh();
    assert.ok(logs.some((l) => /not modified/.test(l)) && !logs.some((l) => /store holds/.test(l)), logs.join('\n'));
  } finally {
    await feed.stop();
    store.close();
  }
});

it("a list feed leaves out the gateway's LAN networks and own addresses, even in public space", async () => {
  const d = mkdtempSync(join(tmpdir(), 'harden-feed-lan-'));
  const store = openDecisionStore(d);
  const file = join(d, 'list.txt');
  // A LAN in public space (some providers route a /29 to the customer) and the gateway's public address.
  writeFileSync(file, '198.51.100.0/29\n198.51.100.3\n192.0.2.2\n192.0.2.0/24\n203.0.113.9\n');
  const net: NetworkContext = {
    lan: [{ target: parseTarget('198.51.100.0/29'), ifname: 'br-lan' }],
    own: [{ target: parseTarget('198.51.100.1'), ifname: 'br-lan' }, { target: parseTarget('192.0.2.2'), ifname: 'wan0' }],
  };
  const cfg: FileFeedConfig = { name: 'g', type: 'file', path: file, format: 'plain', direction: 'both', refresh: 86_400_000, timeout: 10_000, max_shrink: 0.5, min_score: 1, duration: 172_800_000 };
  const deps = feedDeps(store, { info: () => undefined, warn: () => undefined }, { network: () => net });
  const feed = startListFeed(cfg, deps);
  try {
    await deps.clock.advance(0);
    const st = await feed.refresh();
    assert.deepEqual(store.service.list({ origin: 'feed:g' }).map((x) => x.value), ['203.0.113.9']);
    assert.equal(st.entries, 1);
    // Nothing drifts: the next refresh is a plain "not modified", not a reload every time.
    assert.equal((await feed.refresh()).entries, 1);
  } finally {
    await feed.stop();
    store.close();
    rmSync(d, { recursive: true, force: true });
  }
});
