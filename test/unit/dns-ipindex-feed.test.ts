import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { describe, it, type TestContext } from 'node:test';
import { OutboundView, openDecisionStore, type DecisionStore } from '../../src/decisions/index.js';
import { IpIndex, IpIndexFeed, type IpIndexFeedOptions, type IpIndexUpdate } from '../../src/dns/index.js';

const T0 = 1_800_000_000_000;

interface Rig {
  store: DecisionStore;
  clock: { now: number };
  feed: IpIndexFeed;
  /** A worker's copy: built only from what onUpdate sent, through v8 serialization like IPC. */
  worker: () => IpIndex;
  updates: IpIndexUpdate['kind'][];
  /** Milliseconds the worker's copy spent taking each update (deserializing and applying or adopting it). */
  workerMs: number[];
  /** What a fresh build from the store says now. */
  rebuilt: () => Promise<IpIndex>;
}

type RigOptions = Omit<IpIndexFeedOptions, 'onUpdate' | 'log'> & { seed?: (s: DecisionStore) => void };

async function rig(t: TestContext, opts: RigOptions = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'i4-feed-'));
  const clock = { now: T0 };
  const store = openDecisionStore(dir, { clock: () => clock.now });
  opts.seed?.(store);
  let worker: IpIndex | undefined;
  const updates: IpIndexUpdate['kind'][] = [];
  const workerMs: number[] = [];
  const view = new OutboundView(store.db, () => clock.now);
  const { seed: _seed, ...feedOpts } = opts;
  const feed = new IpIndexFeed(view, store.events, {
    windowMs: 5,
    snapshotGapMs: 20,
    ...feedOpts,
    pageSize: opts.pageSize ?? 3,
    onUpdate: (u) => {
      updates.push(u.kind);
      // Serialized here as the daemon does; the worker's part is what follows the message's arrival.
      const wire = serialize(u.kind === 'snapshot' ? u.index.toTransfer() : u.delta);
      const t0 = performance.now();
      if (u.kind === 'snapshot') worker = IpIndex.fromTransfer(deserialize(wire));
      else worker!.apply(deserialize(wire));
      workerMs.push(performance.now() - t0);
    },
  });
  t.after(() => {
    feed.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await feed.start();
  return {
    store,
    clock,
    feed,
    worker: () => worker!,
    updates,
    workerMs,
    rebuilt: async () => {
      const other = new IpIndexFeed(view, store.events, { onUpdate: () => undefined });
      const ix = await other.start();
      other.stop();
      return ix;
    },
  };
}

const PROBES = [
  '203.0.113.5', '203.0.113.6', '203.0.113.77', '203.0.114.1', '198.51.100.1', '198.51.100.200', '192.0.2.1', '192.0.2.9',
  '2001:db8::1', '2001:db8::2', '2001:db8:1::1', '2001:db9::1', '10.0.0.1', '10.1.2.3',
];

function describeAll(ix: IpIndex, now: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ip of PROBES) {
    const h = ix.lookup(ip, now);
    out[ip] = h ? `${h.target} ${h.origin}${h.scenario ? '/' + h.scenario : ''} #${h.decisionId}` : '-';
  }
  return out;
}

async function assertInStep(r: Rig, why: string): Promise<void> {
  await r.feed.settled();
  const want = describeAll(await r.rebuilt(), r.clock.now);
  assert.deepEqual(describeAll(r.feed.current()!, r.clock.now), want, `${why}: the daemon's copy`);
  assert.deepEqual(describeAll(r.worker(), r.clock.now), want, `${why}: the worker's copy`);
}

describe('IpIndexFeed', () => {
  it('indexes the outbound decisions of the store (outbound and both, not inbound) with the allowlist', async (t) => {
    const r = await rig(t, {
      seed: (s) => {
        s.service.add({ value: '203.0.113.5', origin: 'manual', direction: 'outbound', reason: 'c2' });
        s.service.add({ value: '192.0.2.1', origin: 'manual', direction: 'inbound' });
        s.service.addMany([
          { value: '198.51.100.0/24', origin: 'feed:phishing_db', scenario: 'list', direction: 'both' },
          { value: '2001:db8::/32', origin: 'crowdsec', scenario: 'crowdsecurity/http-probing' },
          { value: '10.0.0.0/8', origin: 'feed:x', direction: 'outbound' },
        ]);
        s.service.addAllow({ value: '10.1.0.0/16' });
      },
    });
    const ix = r.worker();
    assert.equal(ix.lookup('203.0.113.5', T0)?.reason, 'c2');
    assert.equal(ix.lookup('192.0.2.1', T0), undefined, 'inbound-only decisions do not block answers');
    assert.deepEqual(ix.lookup('198.51.100.66', T0), { target: '198.51.100.0/24', origin: 'feed:phishing_db', scenario: 'list', decisionId: 3 });
    assert.equal(ix.lookup('2001:db8:5::1', T0)?.origin, 'crowdsec', "direction 'both' is the default");
    assert.equal(ix.lookup('10.1.2.3', T0), undefined, 'allowed');
    assert.equal(ix.lookup('10.2.0.1', T0)?.target, '10.0.0.0/8');
    assert.deepEqual(r.updates, ['snapshot']);
  });

  it('keeps the daemon copy and a worker copy equal to a rebuild through every kind of change', async (t) => {
    const r = await rig(t);
    const s = r.store.service;
    await assertInStep(r, 'empty');
    s.add({ value: '203.0.113.5', origin: 'manual', direction: 'outbound' });
    await assertInStep(r, 'add');
    s.add({ value: '203.0.113.5', origin: 'feed:a', durationSec: 60 });
    await assertInStep(r, 'a second decision on the value (the one without expiry stays named)');
    s.addMany([
      { value: '203.0.113.0/24', origin: 'feed:a', scenario: 'list' },
      { value: '203.0.113.6', origin: 'feed:a', direction: 'inbound' },
      { value: '2001:db8::1', origin: 'feed:a' },
      { value: '2001:db8::/48', origin: 'feed:a' },
      { value: '198.51.100.0/25', origin: 'feed:a' },
    ]);
    await assertInStep(r, 'addMany');
    s.replaceOrigin('feed:a', [
      { value: '203.0.113.0/24', origin: 'feed:a', scenario: 'list' },
      { value: '198.51.100.128/25', origin: 'feed:a' },
      { value: '192.0.2.0/28', origin: 'feed:a', direction: 'outbound' },
    ]);
    await assertInStep(r, 'replaceOrigin (a feed refresh)');
    const d = s.list({ value: '203.0.113.5' }).find((x) => x.origin === 'manual')!;
    s.delete(d.id);
    await assertInStep(r, 'delete');
    s.add({ value: '203.0.113.77', origin: 'manual', direction: 'inbound' });
    s.add({ value: '203.0.113.77', origin: 'manual', direction: 'outbound' });
    await assertInStep(r, 'inbound replaced by outbound (same origin and scenario)');
    s.add({ value: '203.0.113.77', origin: 'manual', direction: 'inbound' });
    await assertInStep(r, 'outbound replaced by inbound');
    s.addAllow({ value: '203.0.113.0/25' });
    await assertInStep(r, 'allow added');
    assert.equal(r.worker().lookup('203.0.113.5', r.clock.now), undefined);
    s.deleteAllow('203.0.113.0/25');
    await assertInStep(r, 'allow removed');
    s.add({ value: '10.1.2.3', origin: 'manual', durationSec: 30 });
    r.clock.now += 31_000;
    assert.equal(r.worker().lookup('10.1.2.3', r.clock.now), undefined, 'an expired decision stops matching before the sweep');
    s.expire();
    await assertInStep(r, 'expiry sweep');
    s.deleteWhere({ origin: 'feed:a' });
    await assertInStep(r, 'deleteWhere');
    assert.ok(r.updates.slice(1).every((u) => u === 'delta'), `only deltas after the first snapshot: ${r.updates.join(',')}`);
  });

  it('coalesces changes made in one turn into one delta', async (t) => {
    const r = await rig(t);
    for (let i = 1; i <= 20; i++) r.store.service.add({ value: `198.51.100.${i}`, origin: 'manual' });
    await assertInStep(r, 'twenty adds');
    assert.deepEqual(r.updates, ['snapshot', 'delta']);
  });

  it('sends a new snapshot instead of a delta for a very large change, and takes changes during a build', async (t) => {
    const r = await rig(t, { snapshotAbove: 10, pageSize: 4 });
    r.store.service.addMany(Array.from({ length: 50 }, (_, i) => ({ value: `198.51.100.${i + 1}`, origin: 'feed:big' })));
    // While that rebuild reads its pages, more changes arrive.
    await new Promise((res) => setImmediate(res));
    r.store.service.add({ value: '192.0.2.9', origin: 'manual' });
    r.store.service.deleteWhere({ value: '198.51.100.7' });
    await assertInStep(r, 'big change');
    assert.deepEqual(r.updates.slice(0, 2), ['snapshot', 'snapshot']);
    assert.equal(r.worker().lookup('198.51.100.50', r.clock.now)?.origin, 'feed:big');
    assert.equal(r.worker().lookup('198.51.100.7', r.clock.now), undefined);
    assert.equal(r.worker().lookup('192.0.2.9', r.clock.now)?.origin, 'manual');
  });

  it('hands a bulk import to the workers as snapshots they swap in: no update costs a worker half of what reading the index from the store costs, and the copies equal a rebuild', async (t) => {
    // 100,000 decisions in four chunks of 25,000 as the admin import writes them (a tenth of them /24 ranges),
    // onto an index that already holds 20,000. Applied as deltas, each chunk rebuilt a worker's range
    // segments once per 33 new ranges (~75 rebuilds per chunk here, minutes with 1M decisions).
    const r = await rig(t, {
      pageSize: 5000,
      windowMs: 20,
      snapshotGapMs: 100,
      seed: (s) => s.service.addMany(Array.from({ length: 20_000 }, (_, i) => ({ value: `13.${(i >> 8) & 255}.${i & 255}.1`, origin: 'feed:old', direction: 'outbound' as const }))),
    });
    const v4 = (a: number, i: number) => `${a}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    for (let c = 0; c < 4; c++) {
      r.store.service.addMany(
        Array.from({ length: 25_000 }, (_, k) => {
          const i = c * 25_000 + k;
          return { value: i % 10 === 0 ? `12.${(i >> 8) & 255}.${i & 255}.0/24` : v4(11, i), origin: 'feed:big', direction: 'outbound' as const };
        }),
      );
      await new Promise((res) => setTimeout(res, 5));
    }
    // A small change after the import still travels as a delta.
    await r.feed.settled();
    r.store.service.add({ value: '203.0.113.5', origin: 'manual', direction: 'outbound' });
    await assertInStep(r, 'after the import');
    const ix = r.worker();
    assert.equal(ix.lookup('12.0.10.99', r.clock.now)?.target, '12.0.10.0/24');
    assert.equal(ix.lookup(v4(11, 99_999), r.clock.now)?.origin, 'feed:big');
    assert.equal(ix.lookup('13.0.5.1', r.clock.now)?.origin, 'feed:old');
    assert.deepEqual(ix.size, (await r.rebuilt()).size);
    // The yardstick: what reading the whole index afresh from the store costs (a worker update must be a
    // small part of that — measured 0.03–0.2 of it; applying the chunks as deltas cost a worker 0.9–2× of it).
    const t0 = performance.now();
    await r.rebuilt();
    const readMs = performance.now() - t0;
    const worst = Math.max(...r.workerMs.slice(1));
    assert.ok(worst < readMs / 2, `the costliest update took a worker ${worst.toFixed(1)} ms; reading the whole index from the store takes ${readMs.toFixed(1)} ms`);
    const kinds = r.updates.slice(1);
    assert.ok(kinds.includes('snapshot') && kinds.length <= 6, `a few snapshots for the import, not a delta per chunk: ${kinds.join(',')}`);
    assert.equal(kinds.at(-1), 'delta', 'the small change after it is a delta');
  });
});
