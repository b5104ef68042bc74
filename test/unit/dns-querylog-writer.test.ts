/**
 * Issue #10, the DNS query log's writing side: each resolver worker writes its own batches into the one
 * SQLite file; two at once lose nothing while their buffers hold; anonymous stores no client; off stores
 * nothing; a full buffer drops the oldest and says how many.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { QueryLogReader, QueryLogWriter, queryLogPath, type QueryRecord } from '../../src/dns/index.js';
import type { WriterDone, WriterJob } from './helpers/querylog-writer-child.js';

const CHILD = resolve(import.meta.dirname, 'helpers', 'querylog-writer-child.ts');

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'h6-qlog-w-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function rec(i: number, over: Partial<QueryRecord> = {}): QueryRecord {
  return { t: 1_700_000_000_000 + i, client: '192.168.1.10', mac: '02:00:00:00:00:01', clientName: 'laptop', name: `q${i}.example.com`, qtype: 1, rcode: 0, latencyUs: 50, cached: false, ...over };
}

function rowsIn(file: string): Record<string, unknown>[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT * FROM queries ORDER BY id').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function runChild(job: WriterJob): Promise<WriterDone> {
  return new Promise((res, rej) => {
    const c = fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let done: WriterDone | undefined;
    c.on('message', (m) => (done = m as WriterDone));
    c.on('error', rej);
    c.on('exit', (code) => (done && code === 0 ? res(done) : rej(new Error(`writer child exited ${code}`))));
    c.send(job);
  });
}

describe('two workers writing at once', () => {
  test('every record of both processes is stored, none dropped, while each stays within its buffer', async () => {
    const file = join(dir, 'two', 'dns-queries.sqlite');
    // The daemon creates the file before it forks the workers.
    QueryLogReader.open(file).close();
    const count = 40_000;
    const [a, b] = await Promise.all([
      runChild({ file, tag: 'a', count, mode: 'full', maxBuffered: count, burst: 500, batchRows: 2000 }),
      runChild({ file, tag: 'b', count, mode: 'full', maxBuffered: count, burst: 500, batchRows: 2000 }),
    ]);
    for (const s of [a.stats, b.stats]) assert.deepEqual([s.pushed, s.written, s.dropped, s.skipped, s.buffered, s.errors], [count, count, 0, 0, 0, 0]);
    const r = QueryLogReader.open(file);
    try {
      assert.equal(r.count(), 2 * count);
      const per = r.db.prepare("SELECT client_name AS who, count(DISTINCT name) AS n FROM queries GROUP BY client_name ORDER BY who").all();
      assert.deepEqual(per, [{ who: 'host-a', n: count }, { who: 'host-b', n: count }]);
    } finally {
      r.close();
    }
  });

  test('two workers creating a fresh file at the same moment both come up (the schema is made once)', async () => {
    const file = join(dir, 'fresh', 'dns-queries.sqlite');
    const [a, b] = await Promise.all([
      runChild({ file, tag: 'a', count: 100, mode: 'full', maxBuffered: 1000, burst: 100 }),
      runChild({ file, tag: 'b', count: 100, mode: 'full', maxBuffered: 1000, burst: 100 }),
    ]);
    assert.equal(a.stats.written + b.stats.written, 200);
    assert.equal(rowsIn(file).length, 200);
  });
});

describe('modes', () => {
  test('full stores the client, its MAC and name, and every field of the record', async () => {
    const file = queryLogPath(join(dir, 'full'));
    const w = new QueryLogWriter(file, 'full');
    w.push(rec(1, { blocked: { by: 'list', what: 'ads' }, answer: '0.0.0.0', upstream: 'udp://9.9.9.9', monitored: 'note', cached: true, qtype: 28, rcode: 3, latencyUs: 1234.4 }));
    await w.close();
    const [row] = rowsIn(file);
    assert.deepEqual({ ...row, id: undefined }, {
      id: undefined, t: 1_700_000_000_001, client: '192.168.1.10', mac: '02:00:00:00:00:01', client_name: 'laptop', name: 'q1.example.com', qtype: 28, rcode: 3,
      answer: '0.0.0.0', blocked_by: 'list', blocked_what: 'ads', monitored: 'note', upstream: 'udp://9.9.9.9', latency_us: 1234, cached: 1,
    });
  });

  test('anonymous stores the queries but no client IP, MAC or name', async () => {
    const file = queryLogPath(join(dir, 'anon'));
    const w = new QueryLogWriter(file, 'anonymous');
    for (let i = 0; i < 10; i++) w.push(rec(i));
    await w.close();
    const rows = rowsIn(file);
    assert.equal(rows.length, 10);
    assert.deepEqual(new Set(rows.map((r) => JSON.stringify([r.client, r.mac, r.client_name]))), new Set([JSON.stringify([null, null, null])]));
    assert.equal(rows[3]!.name, 'q3.example.com');
    const r = QueryLogReader.open(file);
    try {
      assert.deepEqual(r.top().clients, []);
      assert.equal(r.query({ client: '192.168.1.10' }).length, 0);
    } finally {
      r.close();
    }
  });

  test('off stores nothing and does not even create the file', async () => {
    const file = queryLogPath(join(dir, 'off'));
    const w = new QueryLogWriter(file, 'off');
    for (let i = 0; i < 100; i++) w.push(rec(i));
    await w.close();
    assert.equal(existsSync(file), false);
    assert.equal(w.stats().pushed, 0);
  });
});

describe('the bounded buffer', () => {
  test('when the buffer is full the oldest records go, counted; the newest are stored', async () => {
    const file = queryLogPath(join(dir, 'bound'));
    const w = new QueryLogWriter(file, 'full', { maxBuffered: 100, batchRows: 1000 });
    for (let i = 0; i < 250; i++) w.push(rec(i));
    assert.deepEqual([w.stats().buffered, w.stats().dropped], [100, 150]);
    await w.close();
    const rows = rowsIn(file);
    assert.equal(rows.length, 100);
    assert.equal(rows[0]!.name, 'q150.example.com');
    assert.equal(rows[99]!.name, 'q249.example.com');
  });

  test('while another connection holds the write lock, rows wait and are written once it is free', async () => {
    const file = queryLogPath(join(dir, 'busy'));
    const w = new QueryLogWriter(file, 'full', { busyTimeoutMs: 10, flushIntervalMs: 60_000 });
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < 50; i++) w.push(rec(i));
    w.flush();
    await until(() => w.stats().busy >= 2);
    assert.deepEqual([w.stats().written, w.stats().buffered], [0, 50]);
    other.exec('COMMIT');
    other.close();
    await until(() => w.stats().written === 50);
    assert.deepEqual([w.stats().buffered, w.stats().dropped, w.stats().errors], [0, 0, 0]);
    await w.close();
    assert.equal(rowsIn(file).length, 50);
  });

  test('a full batch goes out right after the push that filled it, not a timer later; the push itself never writes', async () => {
    const file = queryLogPath(join(dir, 'batch'));
    const w = new QueryLogWriter(file, 'full', { batchRows: 10, flushIntervalMs: 60_000 });
    for (let i = 0; i < 25; i++) w.push(rec(i));
    assert.equal(w.stats().written, 0);
    // Two full batches go without the timer; the last 5 wait for it (or for close).
    await until(() => w.stats().written === 20);
    assert.equal(w.stats().buffered, 5);
    await w.close();
    assert.equal(rowsIn(file).length, 25);
  });

  test('a record built wrong is skipped and counted; the rest of its batch is stored', async () => {
    const file = queryLogPath(join(dir, 'bad'));
    const w = new QueryLogWriter(file, 'full');
    w.push(rec(1));
    w.push({ ...rec(2), name: undefined } as unknown as QueryRecord);
    w.push({ ...rec(3), latencyUs: Number.NaN, qtype: 'A' as unknown as number, client: 7 as unknown as string });
    w.push(rec(4));
    await w.close();
    assert.deepEqual([w.stats().written, w.stats().skipped, w.stats().errors], [3, 1, 0]);
    const rows = rowsIn(file);
    assert.deepEqual(rows.map((r) => [r.name, r.latency_us, r.qtype, r.client]), [
      ['q1.example.com', 50, 1, '192.168.1.10'],
      ['q3.example.com', 0, 0, null],
      ['q4.example.com', 50, 1, '192.168.1.10'],
    ]);
  });

  test('a file that cannot be opened fails the constructor with the reason', () => {
    const notADir = join(dir, 'plain-file');
    writeFileSync(notADir, 'x');
    assert.throws(() => new QueryLogWriter(join(notADir, 'q.sqlite'), 'full'), /EEXIST|ENOTDIR|not a directory/i);
  });
});
