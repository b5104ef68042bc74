/**
 * Issue #10, the DNS query log's reading side: `gatehouse dns log` filters (client by IP, MAC or name;
 * blocked; a domain and everything under it; a time window), `gatehouse dns top`, and retention by age
 * and by row count.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryLogReader, QueryLogService, QueryLogWriter, queryLogPath, startQueryLogMaintenance, type QueryRecord } from '../../src/dns/index.js';
import { createScheduler } from '../../src/scheduler/index.js';

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const MIN = 60_000;

let dir: string;
let reader: QueryLogReader;

function rec(over: Partial<QueryRecord> & Pick<QueryRecord, 't' | 'name'>): QueryRecord {
  return { client: '192.168.1.10', mac: '02:00:00:00:00:01', clientName: 'laptop', qtype: 1, rcode: 0, latencyUs: 80, cached: false, ...over };
}

const phone = { client: '192.168.1.20', mac: '02:00:00:00:00:ab', clientName: 'Phone' } as const;
const tv = { client: 'fd00::30', mac: '02:00:00:00:00:03', clientName: 'tv' } as const;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h6-qlog-r-'));
  const file = queryLogPath(dir);
  const w = new QueryLogWriter(file, 'full');
  const records: QueryRecord[] = [
    rec({ t: T0 - 120 * MIN, name: 'example.com', answer: '93.184.216.34', upstream: 'udp://9.9.9.9:53' }),
    rec({ t: T0 - 90 * MIN, name: 'www.example.com', cached: true }),
    rec({ t: T0 - 50 * MIN, name: 'ads.tracker.net', rcode: 3, blocked: { by: 'list', what: 'stevenblack' }, ...phone }),
    rec({ t: T0 - 40 * MIN, name: 'ads.tracker.net', rcode: 3, blocked: { by: 'list', what: 'stevenblack' }, ...phone }),
    rec({ t: T0 - 30 * MIN, name: 'notexample.com', ...phone }),
    rec({ t: T0 - 20 * MIN, name: 'evil.example.org', blocked: { by: 'decision', what: '203.0.113.0/24' }, ...tv, qtype: 28 }),
    rec({ t: T0 - 10 * MIN, name: 'a.b.example.com', cached: true, ...tv }),
    rec({ t: T0 - 5 * MIN, name: 'www.example.com', cached: true, ...phone }),
    rec({ t: T0 - 1 * MIN, name: 'x_y%.test', ...phone }),
  ];
  for (const r of records) w.push(r);
  await w.close();
  reader = QueryLogReader.open(file);
});
after(() => {
  reader.close();
  rmSync(dir, { recursive: true, force: true });
});

const names = (rows: readonly { name: string }[]) => rows.map((r) => r.name);

describe('gatehouse dns log filters', () => {
  test('newest first, with the limit', () => {
    assert.deepEqual(names(reader.query({ limit: 3 })), ['x_y%.test', 'www.example.com', 'a.b.example.com']);
    const [first] = reader.query({ limit: 1 });
    assert.deepEqual(first, {
      id: first!.id, time: T0 - MIN, client: '192.168.1.20', mac: '02:00:00:00:00:ab', clientName: 'Phone', name: 'x_y%.test', qtype: 1, type: 'A', rcode: 0,
      rcodeName: 'NOERROR', answer: null, blocked: null, monitored: null, upstream: null, latencyUs: 80, cached: false,
    });
  });

  test('a client by IP, by MAC (any case) or by name (any case)', () => {
    const byIp = names(reader.query({ client: '192.168.1.20' }));
    assert.equal(byIp.length, 5);
    assert.deepEqual(names(reader.query({ client: '02:00:00:00:00:ab' })), byIp);
    assert.deepEqual(names(reader.query({ client: '02:00:00:00:00:AB' })), byIp);
    assert.deepEqual(names(reader.query({ client: 'phone' })), byIp);
    assert.deepEqual(names(reader.query({ client: 'fd00::30' })), ['a.b.example.com', 'evil.example.org']);
    assert.deepEqual(reader.query({ client: '192.168.1.99' }), []);
  });

  test('blocked only, with why; and answered only', () => {
    const b = reader.query({ blocked: true });
    assert.deepEqual(names(b), ['evil.example.org', 'ads.tracker.net', 'ads.tracker.net']);
    assert.deepEqual(b[0]!.blocked, { by: 'decision', what: '203.0.113.0/24' });
    assert.equal(b[0]!.type, 'AAAA');
    assert.equal(b[1]!.rcodeName, 'NXDOMAIN');
    assert.equal(reader.query({ blocked: false }).length, 6);
  });

  test('a domain matches itself and the names under it, not names that merely end the same', () => {
    assert.deepEqual(names(reader.query({ domain: 'example.com' })), ['www.example.com', 'a.b.example.com', 'www.example.com', 'example.com']);
    assert.deepEqual(names(reader.query({ domain: 'Example.COM.' })), names(reader.query({ domain: 'example.com' })));
    assert.deepEqual(names(reader.query({ domain: 'b.example.com' })), ['a.b.example.com']);
    // LIKE's wildcards in a domain are literal characters.
    assert.deepEqual(names(reader.query({ domain: 'y%.test' })), []);
    assert.deepEqual(names(reader.query({ domain: 'x_y%.test' })), ['x_y%.test']);
    assert.deepEqual(names(reader.query({ domain: '_y%.test' })), []);
  });

  test('a time window, and filters together', () => {
    assert.deepEqual(names(reader.query({ since: T0 - 25 * MIN })), ['x_y%.test', 'www.example.com', 'a.b.example.com', 'evil.example.org']);
    assert.deepEqual(names(reader.query({ since: T0 - 60 * MIN, until: T0 - 30 * MIN })), ['ads.tracker.net', 'ads.tracker.net']);
    assert.deepEqual(names(reader.query({ client: 'phone', domain: 'example.com', since: T0 - 60 * MIN })), ['www.example.com']);
  });
});

describe('gatehouse dns top', () => {
  test('top names, top blocked names, top clients and the totals over the whole log', () => {
    const top = reader.top({}, T0);
    assert.deepEqual(top.totals, { queries: 9, blocked: 3, cached: 3, blockedPct: 33.3, cachedPct: 33.3 });
    assert.deepEqual(top.names.slice(0, 2), [{ name: 'ads.tracker.net', count: 2 }, { name: 'www.example.com', count: 2 }]);
    assert.deepEqual(top.blocked, [{ name: 'ads.tracker.net', count: 2 }, { name: 'evil.example.org', count: 1 }]);
    assert.deepEqual(top.clients, [
      { client: '192.168.1.20', mac: '02:00:00:00:00:ab', clientName: 'Phone', count: 5, blocked: 2 },
      { client: '192.168.1.10', mac: '02:00:00:00:00:01', clientName: 'laptop', count: 2, blocked: 0 },
      { client: 'fd00::30', mac: '02:00:00:00:00:03', clientName: 'tv', count: 2, blocked: 1 },
    ]);
  });

  test('a window and a limit', () => {
    const top = reader.top({ since: T0 - 25 * MIN, limit: 1 }, T0);
    assert.equal(top.totals.queries, 4);
    assert.deepEqual(top.names, [{ name: 'a.b.example.com', count: 1 }]);
    assert.deepEqual(top.blocked, [{ name: 'evil.example.org', count: 1 }]);
    assert.deepEqual(top.clients.map((c) => c.client), ['192.168.1.20']);
    const before = reader.top({ until: T0 - 25 * MIN }, T0);
    assert.deepEqual([before.totals.queries, before.totals.blocked, before.names[0]], [5, 2, { name: 'ads.tracker.net', count: 2 }]);
    const empty = reader.top({ since: T0 + MIN }, T0 + 2 * MIN);
    assert.deepEqual(empty.totals, { queries: 0, blocked: 0, cached: 0, blockedPct: 0, cachedPct: 0 });
  });
});

describe('retention', () => {
  async function fill(sub: string, n: number, start: number, stepMs: number): Promise<QueryLogReader> {
    const file = queryLogPath(join(dir, sub));
    const w = new QueryLogWriter(file, 'full', { maxBuffered: n });
    for (let i = 0; i < n; i++) w.push(rec({ t: start + i * stepMs, name: `n${i}.example` }));
    await w.close();
    return QueryLogReader.open(file);
  }

  test('rows older than the retention go, in chunks; the rest stay', async () => {
    const r = await fill('age', 1000, T0 - 1000 * MIN, MIN);
    try {
      const res = await r.prune(300 * MIN, 1_000_000, { now: T0, chunkRows: 64 });
      assert.deepEqual(res, { byAge: 700, byCap: 0 });
      assert.equal(r.count(), 300);
      assert.equal(r.query({ limit: 1000 }).at(-1)!.name, 'n700.example');
    } finally {
      r.close();
    }
  });

  test('beyond the row cap the oldest go first', async () => {
    const r = await fill('cap', 1000, T0 - 1000 * MIN, MIN);
    try {
      const res = await r.prune(7 * 86_400_000, 250, { now: T0, chunkRows: 100 });
      assert.deepEqual(res, { byAge: 0, byCap: 750 });
      assert.deepEqual(names(r.query({ limit: 1000 })).slice(-1), ['n750.example']);
      assert.equal(r.count(), 250);
      assert.deepEqual(await r.prune(7 * 86_400_000, 250, { now: T0 }), { byAge: 0, byCap: 0 });
    } finally {
      r.close();
    }
  });

  test('the event loop runs between chunks of a long prune', async () => {
    const r = await fill('yield', 2000, T0 - 2000 * MIN, MIN);
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 0);
      await r.prune(0, 1_000_000, { now: T0, chunkRows: 10 });
      clearInterval(timer);
      assert.equal(r.count(), 0);
      assert.ok(ticks > 0, 'a timer ran while the prune went on');
    } finally {
      r.close();
    }
  });
});

describe('retention on the scheduler', () => {
  test('the daemon\'s job prunes by age and by cap right after the start, and stops cleanly', async () => {
    const file = queryLogPath(join(dir, 'job'));
    const now = Date.now();
    const w = new QueryLogWriter(file, 'full');
    for (let i = 0; i < 500; i++) w.push(rec({ t: now - (500 - i) * MIN, name: `j${i}.example` }));
    await w.close();
    const r = QueryLogService.open(file);
    const scheduler = createScheduler({ log: { error() {} } });
    const quiet = { info() {}, warn() {}, debug() {} };
    const m = startQueryLogMaintenance({ log: r, scheduler, logger: quiet, retentionMs: 300 * MIN, maxRows: 100, pruneEveryMs: 3600_000 });
    try {
      await m.prune.runNow();
      assert.equal(r.reader.count(), 100);
      assert.deepEqual(names(await r.query({ limit: 1000 })).slice(-1), ['j400.example']);
      assert.notEqual(m.lastPrune(), null);
    } finally {
      await m.stop();
      await scheduler.stop();
      await r.close();
    }
  });
});

describe('the daemon reads off its event loop', () => {
  test('listings and top lists come from a thread and match what the reader gives; a closed log refuses', async () => {
    const file = queryLogPath(dir);
    const svc = QueryLogService.open(file);
    try {
      assert.deepEqual(await svc.query({ client: 'phone', limit: 3 }), reader.query({ client: 'phone', limit: 3 }));
      assert.deepEqual(await svc.top({ since: T0 - 60 * MIN }, T0), reader.top({ since: T0 - 60 * MIN }, T0));
      // Questions asked together are each answered.
      const many = await Promise.all([svc.top({}, T0), svc.query({ blocked: true }), svc.top({ limit: 1 }, T0)]);
      assert.deepEqual(many, [reader.top({}, T0), reader.query({ blocked: true }), reader.top({ limit: 1 }, T0)]);
    } finally {
      await svc.close();
    }
    await assert.rejects(svc.query({}), /closed/);
  });
});
