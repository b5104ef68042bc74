import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { DecisionChange } from '../../src/decisions/service.js';
import { InputError, InvalidTargetError, openDecisionStore, type DecisionStore } from '../../src/decisions/store-service.js';
import type { NewDecision } from '../../src/decisions/types.js';
import { parseToken } from '../../src/net/fast-target.js';
import { LapiDecisionReads } from '../../src/crowdsec/lapi/decision-reads.js';

const T0 = 1_700_000_000_000;

interface Fixture {
  store: DecisionStore;
  dir: string;
  changes: DecisionChange[];
  /** Moves the store's clock forward. */
  advance(ms: number): void;
  now(): number;
  reopen(): DecisionStore;
}

function fixture(t: TestContext): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'gh-store-'));
  let now = T0;
  const clock = (): number => now;
  const changes: DecisionChange[] = [];
  const f: Fixture = {
    store: openDecisionStore(dir, { clock }),
    dir,
    changes,
    advance: (ms) => {
      now += ms;
    },
    now: () => now,
    reopen: () => {
      f.store.close();
      f.store = openDecisionStore(dir, { clock });
      f.store.events.subscribe('decisions.changed', (c) => changes.push(c));
      return f.store;
    },
  };
  f.store.events.subscribe('decisions.changed', (c) => changes.push(c));
  t.after(() => {
    f.store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return f;
}

const values = (ds: readonly { value: string }[]): string[] => ds.map((d) => d.value);

describe('decision store: add', () => {
  it('stores a canonical decision with defaults, expiry from the clock, and announces it', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    const d = s.add({ value: '10.1.2.3/8', origin: 'manual', reason: 'scanner', durationSec: 3600 });
    assert.equal(d.value, '10.0.0.0/8');
    assert.deepEqual([d.family, d.prefix, d.scope, d.type, d.direction], [4, 8, 'range', 'ban', 'both']);
    assert.deepEqual([d.origin, d.reason, d.scenario], ['manual', 'scanner', '']);
    assert.equal(d.createdAt, T0);
    assert.equal(d.expiresAt, T0 + 3_600_000);
    assert.deepEqual(f.changes, [{ insertedFrom: d.id, insertedTo: d.id, removedValues: [], contendedValues: [], allowChanged: false }]);
    const h = s.add({ value: '2001:DB8::1', origin: 'manual', direction: 'inbound' });
    assert.deepEqual([h.value, h.scope, h.direction, h.expiresAt], ['2001:db8::1', 'ip', 'inbound', null]);
    assert.deepEqual(s.get(h.id), h);
  });

  it('refuses bad input with a clear error and stores nothing', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    assert.throws(() => s.add({ value: '1.2.3.4/33', origin: 'manual' }), InvalidTargetError);
    assert.throws(() => s.add({ value: '1.2.3.4', origin: '  ' }), InputError);
    assert.throws(() => s.add({ value: '1.2.3.4', origin: 'manual', direction: 'sideways' as never }), /direction must be/);
    assert.throws(() => s.add({ value: '1.2.3.4', origin: 'manual', durationSec: 0 }), /duration must be/);
    assert.throws(() => s.add({ value: '1.2.3.4', origin: 'manual', durationSec: -5 }), /duration must be/);
    assert.throws(() => s.add({ value: '1.2.3.4', origin: 'manual', durationSec: Number.NaN }), /duration must be/);
    assert.throws(() => s.add({ value: '1.2.3.4', origin: 'manual', reason: 'x'.repeat(513) }), /longer than 512/);
    assert.equal(s.count(), 0);
    assert.deepEqual(f.changes, []);
  });

  it('turns control characters in texts into spaces', (t) => {
    const s = fixture(t).store.service;
    const d = s.add({ value: '1.2.3.4', origin: 'manual', reason: 'line1\nline2\u0007', scenario: '\tssh-bf ' });
    assert.equal(d.reason, 'line1 line2');
    assert.equal(d.scenario, 'ssh-bf');
  });

  it('replaces the decision with the same value, origin and scenario', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    const a = s.add({ value: '1.2.3.4', origin: 'manual', reason: 'first', durationSec: 60 });
    f.advance(1000);
    const b = s.add({ value: '1.2.3.4', origin: 'manual', reason: 'second' });
    assert.notEqual(a.id, b.id);
    assert.deepEqual(s.list().map((d) => [d.id, d.reason, d.expiresAt]), [[b.id, 'second', null]]);
    assert.deepEqual(f.changes[1]!.removedValues, ['1.2.3.4']);
    // Another scenario of the same origin is a separate decision.
    s.add({ value: '1.2.3.4', origin: 'manual', scenario: 'other' });
    assert.equal(s.count({ value: '1.2.3.4' }), 2);
  });
});

describe('decision store: addMany', () => {
  it('adds in bulk, skips and counts bad entries with their position, updates in place', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    s.add({ value: '192.0.2.1', origin: 'import', reason: 'old' });
    const r = s.addMany([
      { value: '192.0.2.1', origin: 'import', reason: 'new' },
      { value: 'garbage', origin: 'import' },
      { value: '198.51.100.9/24', origin: 'import' },
      { value: '192.0.2.2', origin: 'import', direction: 'up' as never },
      { value: '192.0.2.3', origin: 'import', durationSec: -1 },
      { value: '2001:db8::2', origin: 'import', durationSec: 60 },
    ]);
    assert.deepEqual([r.added, r.updated, r.skipped], [2, 1, 3]);
    assert.deepEqual(r.skippedSamples.map((x) => [x.line, x.text]), [
      [2, 'garbage'],
      [4, '192.0.2.2'],
      [5, '192.0.2.3'],
    ]);
    assert.match(r.skippedSamples[0]!.why, /not an IP/);
    assert.match(r.skippedSamples[1]!.why, /direction/);
    assert.match(r.skippedSamples[2]!.why, /duration/);
    assert.deepEqual(values(s.list()).sort(), ['192.0.2.1', '198.51.100.0/24', '2001:db8::2']);
    assert.equal(s.list({ value: '192.0.2.1' })[0]!.reason, 'new');
    assert.equal(s.list({ value: '2001:db8::2' })[0]!.expiresAt, T0 + 60_000);
    const last = f.changes.at(-1)!;
    assert.deepEqual(last.removedValues, ['192.0.2.1']);
    assert.deepEqual(last.contendedValues, []);
    assert.equal(last.insertedTo - last.insertedFrom + 1, 3);
  });

  it('caps skipped samples at 10 and counts them all', (t) => {
    const s = fixture(t).store.service;
    const bad: NewDecision[] = Array.from({ length: 25 }, (_, i) => ({ value: `bad-${i}`, origin: 'x' }));
    const r = s.addMany(bad);
    assert.equal(r.skipped, 25);
    assert.equal(r.skippedSamples.length, 10);
    assert.equal(s.count(), 0);
  });

  it('reports values that already had another origin\'s decision as contended', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    s.add({ value: '192.0.2.1', origin: 'manual' });
    s.add({ value: '192.0.2.2', origin: 'feed:a' });
    f.changes.length = 0;
    const r = s.addMany([
      { value: '192.0.2.1', origin: 'feed:a' },
      { value: '192.0.2.2', origin: 'feed:a', reason: 'changed' },
      { value: '192.0.2.3', origin: 'feed:a' },
    ]);
    assert.deepEqual([r.added, r.updated], [2, 1]);
    assert.equal(f.changes.length, 1);
    assert.deepEqual(f.changes[0]!.contendedValues, ['192.0.2.1']);
    assert.deepEqual(f.changes[0]!.removedValues, ['192.0.2.2']);
    assert.equal(s.count({ value: '192.0.2.1' }), 2);
  });

  it('writes nothing and announces nothing when every entry is bad', (t) => {
    const f = fixture(t);
    const r = f.store.service.addMany([{ value: 'nope', origin: 'x' }]);
    assert.equal(r.skipped, 1);
    assert.deepEqual(f.changes, []);
  });
});

describe('decision store: mixed batches', () => {
  it('a big mixed batch: new, updated, contended, repeated, IPv6 and ranges, each stored and announced right', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    s.add({ value: '192.0.2.1', origin: 'manual' }); // another origin holds it: contended
    s.add({ value: '192.0.2.2', origin: 'feed:x', reason: 'old' }); // same origin: update
    f.changes.length = 0;
    const batch: NewDecision[] = [];
    for (let i = 0; i < 200; i++) batch.push({ value: `198.18.${i >> 8}.${i & 255}`, origin: 'feed:x', reason: 'listed' });
    for (let i = 0; i < 40; i++) batch.push({ value: `2001:db8::${(i + 1).toString(16)}`, origin: 'feed:x', reason: 'listed' });
    for (let i = 0; i < 40; i++) batch.push({ value: `100.64.${i}.0/24`, origin: 'feed:x', reason: 'listed', durationSec: 60 });
    batch.push({ value: '192.0.2.1', origin: 'feed:x', reason: 'listed' });
    batch.push({ value: '192.0.2.2', origin: 'feed:x', reason: 'listed' });
    batch.push({ value: '203.0.113.9', origin: 'feed:x', reason: 'first' }, { value: '203.0.113.9', origin: 'feed:x', reason: 'second' });
    batch.push({ value: '2001:db8:1::/48', origin: 'feed:x', reason: 'a lone range' });
    const r = s.addMany(batch);
    assert.deepEqual([r.added, r.updated, r.skipped], [200 + 40 + 40 + 1 + 1 + 1, 1 + 1, 0]);
    // Every row reads back with its own fields, and ranges are found by the addresses inside them.
    assert.equal(s.count({ origin: 'feed:x' }), 200 + 40 + 40 + 4);
    assert.deepEqual(values(s.covering('100.64.7.200')), ['100.64.7.0/24']);
    assert.equal(s.covering('100.64.7.200')[0]!.expiresAt, T0 + 60_000);
    assert.deepEqual(values(s.covering('2001:db8:1::5')), ['2001:db8:1::/48']);
    assert.deepEqual(values(s.covering('198.18.0.199')), ['198.18.0.199']);
    assert.equal(s.list({ value: '203.0.113.9' }).map((d) => d.reason).join(), 'second');
    assert.equal(s.list({ value: '192.0.2.2', origin: 'feed:x' })[0]!.reason, 'listed');
    assert.equal(s.covering('2001:db8::28')[0]!.family, 6);
    // The firewall is told which hosts are new to it and which values another decision holds.
    const c = f.changes.at(-1)!;
    assert.deepEqual(c.contendedValues, ['192.0.2.1']);
    // A value listed twice: its first line is new, the second replaces it (as two separate adds would).
    assert.deepEqual([...c.removedValues].sort(), ['192.0.2.2', '203.0.113.9']);
    assert.equal(c.freshHosts!.length, 200 + 40 + 1);
    assert.ok(c.freshHosts!.some((h) => h.value === '203.0.113.9'));
    assert.ok(!c.freshHosts!.some((h) => h.value === '192.0.2.1' || h.value.includes('/')));
  });

  it('a batch of thousands: contended values, a repeat across a lookup round and an unchanged re-run all come out right', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    const N = 5003;
    const ip = (i: number) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
    // Another origin holds every 1000th value, spread over the whole batch.
    for (let i = 0; i < N; i += 1000) s.add({ value: ip(i), origin: 'manual' });
    f.changes.length = 0;
    const batch: NewDecision[] = [];
    for (let i = 0; i < N; i++) batch.push({ value: ip(i), origin: 'feed:x', reason: 'r' });
    // The same value again, far from its first line: the later line wins, as with two separate adds.
    batch.splice(2500, 0, { value: ip(1), origin: 'feed:x', reason: 'again' });
    const r = s.replaceOrigin('feed:x', batch);
    assert.deepEqual([r.added, r.updated, r.removed], [N, 1, 0]);
    assert.equal(s.count({ origin: 'feed:x' }), N);
    assert.equal(s.list({ value: ip(1), origin: 'feed:x' })[0]!.reason, 'again');
    const c = f.changes.at(-1)!;
    assert.deepEqual(c.contendedValues, [0, 1000, 2000, 3000, 4000, 5000].map(ip));
    assert.equal(c.freshHosts!.length, N - 6);
    const ids = new Map(s.list({ origin: 'feed:x' }).map((d) => [d.value, d.id]));
    f.changes.length = 0;
    batch.splice(2500, 1);
    batch[1] = { value: ip(1), origin: 'feed:x', reason: 'again' };
    const again = s.replaceOrigin('feed:x', batch);
    assert.deepEqual([again.added, again.updated, again.removed], [0, 0, 0]);
    assert.deepEqual(f.changes, [], 'an unchanged list writes and announces nothing');
    assert.deepEqual(new Map(s.list({ origin: 'feed:x' }).map((d) => [d.value, d.id])), ids);
  });
});

describe('decision store: fast-parsed IPv4', () => {
  it('entries parsed by the feeds fast path are stored with the same address bytes as parsed ones', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    const items = ['100.64.0.0/10', '203.0.113.77', '198.51.100.0/25'].map((v) => ({ value: v, target: parseToken(v)!, origin: 'feed:fast' }));
    assert.deepEqual(s.addMany(items).added, 3);
    assert.deepEqual(values(s.covering('100.127.255.254')), ['100.64.0.0/10']);
    assert.deepEqual(values(s.covering('198.51.100.127')), ['198.51.100.0/25']);
    assert.deepEqual(values(s.covering('198.51.100.128')), []);
    assert.deepEqual(values(s.covering('203.0.113.77')), ['203.0.113.77']);
  });
});

describe('decision store: replaceOrigin', () => {
  it('leaves unchanged rows alone, replaces changed ones, removes missing ones', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    const other = s.add({ value: '192.0.2.9', origin: 'manual' });
    const first = s.replaceOrigin('feed:x', [
      { value: '192.0.2.1', origin: 'feed:x', reason: 'r' },
      { value: '192.0.2.2', origin: 'feed:x', reason: 'r' },
      { value: '192.0.2.9', origin: 'feed:x', reason: 'r' },
      { value: '198.51.100.0/24', origin: 'feed:x', reason: 'r' },
    ]);
    assert.deepEqual([first.added, first.updated, first.removed], [4, 0, 0]);
    const ids = new Map(s.list({ origin: 'feed:x' }).map((d) => [d.value, d.id]));
    f.advance(60_000);
    f.changes.length = 0;
    const second = s.replaceOrigin('feed:x', [
      { value: '192.0.2.1', origin: 'feed:x', reason: 'r' },
      { value: '192.0.2.2', origin: 'feed:x', reason: 'changed' },
      { value: '203.0.113.1', origin: 'feed:x', reason: 'r' },
    ]);
    assert.deepEqual([second.added, second.updated, second.removed], [1, 1, 2]);
    const now = new Map(s.list({ origin: 'feed:x' }).map((d) => [d.value, d]));
    assert.deepEqual([...now.keys()].sort(), ['192.0.2.1', '192.0.2.2', '203.0.113.1']);
    assert.equal(now.get('192.0.2.1')!.id, ids.get('192.0.2.1'), 'unchanged row keeps its id');
    assert.equal(now.get('192.0.2.1')!.createdAt, T0, 'unchanged row keeps its creation time');
    assert.notEqual(now.get('192.0.2.2')!.id, ids.get('192.0.2.2'));
    assert.equal(now.get('192.0.2.2')!.reason, 'changed');
    assert.deepEqual(s.get(other.id), other, 'other origins are untouched');
    assert.equal(f.changes.length, 1);
    assert.deepEqual([...f.changes[0]!.removedValues].sort(), ['192.0.2.2', '192.0.2.9', '198.51.100.0/24']);
  });

  it('announces nothing when the list did not change', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    const list: NewDecision[] = [{ value: '192.0.2.1', origin: 'feed:x' }];
    s.replaceOrigin('feed:x', list);
    f.changes.length = 0;
    const r = s.replaceOrigin('feed:x', list);
    assert.deepEqual([r.added, r.updated, r.removed], [0, 0, 0]);
    assert.deepEqual(f.changes, []);
  });

  it('empties the origin when given an empty list', (t) => {
    const s = fixture(t).store.service;
    s.replaceOrigin('feed:x', [{ value: '192.0.2.1', origin: 'feed:x' }, { value: '192.0.2.2', origin: 'feed:x' }]);
    assert.equal(s.replaceOrigin('feed:x', []).removed, 2);
    assert.equal(s.count({ origin: 'feed:x' }), 0);
  });

  it('refuses a decision of another origin and changes nothing', (t) => {
    const s = fixture(t).store.service;
    s.replaceOrigin('feed:x', [{ value: '192.0.2.1', origin: 'feed:x' }]);
    assert.throws(() => s.replaceOrigin('feed:x', [{ value: '192.0.2.2', origin: 'feed:x' }, { value: '192.0.2.3', origin: 'manual' }]), InputError);
    assert.deepEqual(values(s.list()), ['192.0.2.1']);
  });
});

describe('decision store: delete, deleteWhere, deleteValues, valuesOf', () => {
  it('deletes by id once, and announces the value', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    const d = s.add({ value: '192.0.2.1', origin: 'manual' });
    f.changes.length = 0;
    assert.deepEqual(s.delete(d.id), d);
    assert.equal(s.delete(d.id), undefined);
    assert.equal(s.get(d.id), undefined);
    assert.deepEqual(f.changes.map((c) => c.removedValues), [['192.0.2.1']]);
  });

  it('deleteWhere needs a filter and matches value (canonicalized), origin and scenario', (t) => {
    const s = fixture(t).store.service;
    s.add({ value: '10.0.0.0/8', origin: 'manual', scenario: 'a' });
    s.add({ value: '10.0.0.0/8', origin: 'feed:f', scenario: 'a' });
    s.add({ value: '192.0.2.1', origin: 'manual', scenario: 'b' });
    assert.throws(() => s.deleteWhere({}), /refusing to delete every decision/);
    assert.equal(s.count(), 3);
    assert.deepEqual(values(s.deleteWhere({ value: '10.99.1.2/8', origin: 'manual' })), ['10.0.0.0/8']);
    assert.deepEqual(values(s.deleteWhere({ scenario: 'b' })), ['192.0.2.1']);
    assert.deepEqual(values(s.deleteWhere({ origin: 'nobody' })), []);
    assert.deepEqual(s.list().map((d) => [d.value, d.origin]), [['10.0.0.0/8', 'feed:f']]);
    assert.throws(() => s.deleteWhere({ value: 'not-an-ip' }), InvalidTargetError);
  });

  it('valuesOf lists an origin\'s active values; deleteValues retires only that origin\'s', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    s.addMany([
      { value: '192.0.2.1', origin: 'feed:a' },
      { value: '192.0.2.2', origin: 'feed:a' },
      { value: '192.0.2.3', origin: 'feed:a', durationSec: 10 },
      { value: '192.0.2.1', origin: 'feed:b' },
    ]);
    f.advance(10_000);
    assert.deepEqual([...s.valuesOf('feed:a')].sort(), ['192.0.2.1', '192.0.2.2']);
    f.changes.length = 0;
    assert.equal(s.deleteValues('feed:a', ['192.0.2.1', '203.0.113.1']), 1);
    assert.equal(s.deleteValues('feed:a', []), 0);
    assert.deepEqual([...s.valuesOf('feed:a')], ['192.0.2.2']);
    assert.deepEqual([...s.valuesOf('feed:b')], ['192.0.2.1']);
    assert.deepEqual(f.changes.map((c) => c.removedValues), [['192.0.2.1']]);
  });
});

describe('decision store: queries', () => {
  function seed(f: Fixture): void {
    const s = f.store.service;
    s.add({ value: '10.0.0.0/8', origin: 'feed:a', direction: 'inbound' });
    s.add({ value: '10.1.0.0/16', origin: 'manual', direction: 'outbound' });
    s.add({ value: '10.1.2.3', origin: 'manual' });
    s.add({ value: '192.0.2.1', origin: 'feed:a', direction: 'outbound' });
    s.add({ value: '2001:db8::/32', origin: 'manual' });
    s.add({ value: '2001:db8::1', origin: 'feed:a', direction: 'inbound' });
    s.add({ value: '10.200.0.1', origin: 'manual', durationSec: 5 });
    f.advance(5000); // the last one is now expired, though not swept yet
  }

  it('covering finds the value itself and ranges around it, per family, active only', (t) => {
    const f = fixture(t);
    seed(f);
    const s = f.store.service;
    assert.deepEqual(values(s.covering('10.1.2.3')), ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3']);
    assert.deepEqual(values(s.covering('10.1.9.9')), ['10.0.0.0/8', '10.1.0.0/16']);
    assert.deepEqual(values(s.covering('10.1.0.0/20')), ['10.0.0.0/8', '10.1.0.0/16']);
    assert.deepEqual(values(s.covering('10.200.0.1')), ['10.0.0.0/8']);
    assert.deepEqual(values(s.covering('11.0.0.1')), []);
    assert.deepEqual(values(s.covering('2001:db8::1')), ['2001:db8::/32', '2001:db8::1']);
    assert.deepEqual(values(s.covering('2001:db8:5::/48')), ['2001:db8::/32']);
    assert.deepEqual(values(s.covering('2001:db9::1')), []);
    assert.deepEqual(values(s.covering('::ffff:10.1.2.3')), ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3']);
  });

  it('list and count filter by origin, value, scope and direction, with a limit', (t) => {
    const f = fixture(t);
    seed(f);
    const s = f.store.service;
    assert.equal(s.count(), 6);
    assert.deepEqual(values(s.list({ origin: 'feed:a' })), ['10.0.0.0/8', '192.0.2.1', '2001:db8::1']);
    // Containing and contained ranges both count as "about" a value.
    assert.deepEqual(values(s.list({ value: '10.1.0.0/16' })), ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3']);
    assert.deepEqual(values(s.list({ value: '10.1.2.3' })), ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3']);
    assert.deepEqual(values(s.list({ value: '2001:db8::/16' })), ['2001:db8::/32', '2001:db8::1']);
    assert.deepEqual(values(s.list({ scope: 'range' })), ['10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32']);
    assert.deepEqual(values(s.list({ scope: 'ip' })), ['10.1.2.3', '192.0.2.1', '2001:db8::1']);
    // Inbound means "applies to inbound traffic": inbound-only and both.
    assert.deepEqual(values(s.list({ direction: 'inbound' })), ['10.0.0.0/8', '10.1.2.3', '2001:db8::/32', '2001:db8::1']);
    assert.deepEqual(values(s.list({ direction: 'outbound' })), ['10.1.0.0/16', '10.1.2.3', '192.0.2.1', '2001:db8::/32']);
    assert.deepEqual(values(s.list({ direction: 'both' })), ['10.1.2.3', '2001:db8::/32']);
    assert.deepEqual(values(s.list({ origin: 'manual', scope: 'ip' })), ['10.1.2.3']);
    assert.deepEqual(values(s.list({ limit: 2 })), ['10.0.0.0/8', '10.1.0.0/16']);
    assert.deepEqual(s.list({ limit: 0 }), []);
    assert.equal(s.count({ origin: 'feed:a', direction: 'inbound' }), 2);
    assert.equal(s.count({ value: '10.0.0.0/8', scope: 'ip' }), 1);
    // The stream's pages: row arrays in id order, keyset-paged, with the wire headline.
    const reads = new LapiDecisionReads(f.store.db, f.now);
    const page1 = reads.activePage({ afterId: 0, limit: 2, origin: 'manual' });
    const page2 = reads.activePage({ afterId: page1[1]![0], limit: 2, origin: 'manual' });
    assert.deepEqual([...page1, ...page2].map((r) => r[1]), ['10.1.0.0/16', '10.1.2.3', '2001:db8::/32']);
    assert.equal(page2.length, 1);
    assert.deepEqual(reads.activePage({ afterId: 0, limit: 10, scope: 'range', origin: 'manual' }).map((r) => [r[1], r[2]]), [['10.1.0.0/16', 1], ['2001:db8::/32', 1]]);
    assert.throws(() => s.list({ value: 'bogus' }), InvalidTargetError);
  });
});

describe('decision store: expiry and the stream', () => {
  it('expire removes decisions whose time has passed and announces their values', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    s.add({ value: '192.0.2.1', origin: 'manual', durationSec: 10 });
    s.add({ value: '192.0.2.2', origin: 'manual', durationSec: 20 });
    s.add({ value: '192.0.2.3', origin: 'manual' });
    f.advance(9_999);
    f.changes.length = 0;
    assert.deepEqual(s.expire(), []);
    assert.equal(f.changes.length, 0, 'nothing to sweep, nothing announced');
    f.advance(1);
    assert.deepEqual(values(s.list()), ['192.0.2.2', '192.0.2.3'], 'an expired decision is no longer listed, swept or not');
    assert.deepEqual(values(s.expire()), ['192.0.2.1']);
    assert.deepEqual(f.changes.map((c) => c.removedValues), [['192.0.2.1']]);
    assert.deepEqual(values(s.expire(T0 + 60_000)), ['192.0.2.2']);
    assert.deepEqual(values(s.list()), ['192.0.2.3']);
  });

  it('changesSince lists new and deleted decisions within the window', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    const a = s.add({ value: '192.0.2.1', origin: 'manual' });
    const b = s.add({ value: '192.0.2.2', origin: 'manual', durationSec: 30 });
    f.advance(10_000);
    const t1 = f.now();
    const c = s.add({ value: '192.0.2.3', origin: 'manual' });
    s.delete(a.id);
    const full = s.changesSince(undefined);
    assert.deepEqual(values(full.new), ['192.0.2.2', '192.0.2.3']);
    assert.deepEqual(full.deleted, []);
    // Created and deleted at exactly `since` are not "after since".
    assert.deepEqual(s.changesSince(t1), { new: [], deleted: [] });
    f.advance(1000);
    const d1 = s.changesSince(T0);
    assert.deepEqual(values(d1.new), ['192.0.2.3']);
    assert.deepEqual(values(d1.deleted), ['192.0.2.1']);
    assert.deepEqual(s.changesSince(T0 - 1).new.map((d) => d.id), [b.id, c.id]);
    // b expires at T0 + 30 s: it shows up as deleted before any sweep, and only once after the sweep.
    f.advance(25_000);
    const t2 = f.now();
    const d2 = s.changesSince(t1 + 500);
    assert.deepEqual(values(d2.deleted), ['192.0.2.2']);
    assert.deepEqual(d2.new, []);
    s.expire();
    assert.deepEqual(values(s.changesSince(t1 + 500).deleted), ['192.0.2.2']);
    assert.deepEqual(s.changesSince(t2).deleted, []);
  });
});

describe('decision store: allowlist', () => {
  it('adds, updates, lists, finds covering entries and deletes by id or value', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    const a = s.addAllow({ value: '192.168.1.77/24', reason: 'LAN' });
    assert.deepEqual([a.value, a.family, a.prefix, a.reason, a.expiresAt], ['192.168.1.0/24', 4, 24, 'LAN', null]);
    assert.equal(f.changes.at(-1)!.allowChanged, true);
    const again = s.addAllow({ value: '192.168.1.0/24', reason: 'LAN again', durationSec: 60 });
    assert.equal(again.id, a.id, 'same value updates in place');
    assert.deepEqual([again.reason, again.expiresAt], ['LAN again', T0 + 60_000]);
    const v6 = s.addAllow({ value: '2001:db8::/48' });
    assert.deepEqual(values(s.listAllow()), ['192.168.1.0/24', '2001:db8::/48']);
    assert.deepEqual(values(s.allowCovering('192.168.1.5')), ['192.168.1.0/24']);
    assert.deepEqual(values(s.allowCovering('192.168.1.0/25')), ['192.168.1.0/24']);
    assert.deepEqual(values(s.allowCovering('192.168.0.0/16')), []);
    assert.deepEqual(values(s.allowCovering('2001:db8:0:1::9')), ['2001:db8::/48']);
    assert.throws(() => s.addAllow({ value: 'lan' }), InvalidTargetError);
    f.changes.length = 0;
    assert.equal(s.deleteAllow(v6.id)?.value, '2001:db8::/48');
    assert.equal(s.deleteAllow(v6.id), undefined);
    assert.equal(s.deleteAllow('192.168.1.9/24')?.id, a.id, 'a value is canonicalized before the lookup');
    assert.deepEqual(s.listAllow(), []);
    assert.deepEqual(f.changes.map((c) => c.allowChanged), [true, true]);
  });

  it('expired allow entries stop covering and are swept by expire', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    s.addAllow({ value: '192.0.2.0/24', durationSec: 5 });
    f.advance(5000);
    assert.deepEqual(s.allowCovering('192.0.2.1'), []);
    assert.deepEqual(s.listAllow(), []);
    f.changes.length = 0;
    s.expire();
    assert.deepEqual(f.changes, [{ insertedFrom: 1, insertedTo: 0, removedValues: [], allowChanged: true, expired: true }]);
  });
});

describe('decision store: persistence', () => {
  it('keeps decisions, deletions, expiries and the allowlist across close and reopen', (t) => {
    const f = fixture(t);
    let s = f.store.service;
    const kept = s.add({ value: '192.0.2.1', origin: 'manual', reason: 'r', durationSec: 3600, direction: 'outbound' });
    const gone = s.add({ value: '192.0.2.2', origin: 'manual' });
    s.addMany([{ value: '2001:db8::/64', origin: 'feed:a' }]);
    s.delete(gone.id);
    s.addAllow({ value: '10.0.0.0/8', reason: 'lan' });
    const before = s.list();
    s = f.reopen().service;
    assert.deepEqual(s.list(), before);
    assert.deepEqual(s.get(kept.id), kept);
    assert.equal(s.get(gone.id), undefined);
    assert.deepEqual(values(s.listAllow()), ['10.0.0.0/8']);
    assert.deepEqual(values(s.changesSince(T0 - 1).deleted), ['192.0.2.2']);
    // Ids keep growing after a reopen, so id ranges in change events stay unambiguous.
    assert.ok(s.add({ value: '192.0.2.3', origin: 'manual' }).id > before.at(-1)!.id);
    f.advance(3_600_000);
    assert.deepEqual(values(s.expire()), ['192.0.2.1']);
  });
});

describe('decision store: the total count (read by every status call, kept between changes)', () => {
  it('follows every kind of write and every expiry, as a full count would', (t) => {
    const f = fixture(t);
    const s = f.store.service;
    const full = () => s.list().length;
    const check = (why: string) => assert.equal(s.count(), full(), why);
    check('empty');
    const a = s.add({ value: '192.0.2.1', origin: 'manual', durationSec: 60 });
    check('add');
    s.addMany([{ value: '192.0.2.2', origin: 'manual' }, { value: '192.0.2.3', origin: 'crowdsec', durationSec: 120 }]);
    check('addMany');
    s.replaceOrigin('feed:x', [{ value: '198.51.100.0/24', origin: 'feed:x' }, { value: '198.51.100.7', origin: 'feed:x' }]);
    check('replaceOrigin');
    s.replaceOrigin('feed:x', [{ value: '198.51.100.7', origin: 'feed:x' }]);
    check('replaceOrigin shrinks');
    s.delete(a.id);
    check('delete');
    s.deleteValues('feed:x', ['198.51.100.7']);
    check('deleteValues');
    s.deleteWhere({ origin: 'manual' });
    check('deleteWhere');
    assert.equal(s.count(), 1);
    // Expiry passes without a sweep: the count drops at once, and stays right after the sweep.
    f.advance(121_000);
    check('expired, not swept');
    assert.equal(s.count(), 0);
    s.expire();
    check('swept');
    s.add({ value: '192.0.2.9', origin: 'manual' });
    assert.equal(s.count(), 1, 'a write after the sweep is counted');
  });
});
