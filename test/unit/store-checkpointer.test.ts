import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { openDb, WAL_SIZE_LIMIT_BYTES, type Db } from '../../src/store/db.js';
import { startCheckpointer, type Checkpointer, type CheckpointerLog } from '../../src/store/checkpointer.js';

// The daemon's 64 MiB would need a WAL bigger than that; the mechanism (restart + truncate) is the same at 1 MiB.
const TEST_WAL_LIMIT = 1024 * 1024;
const ROWS = 4000;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-ckpt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function openStore(t: TestContext, dir: string): Db {
  const db = openDb(dir);
  db.pragma(`journal_size_limit = ${TEST_WAL_LIMIT}`);
  t.after(() => {
    if (db.open) db.close();
  });
  return db;
}

/** About 1 KiB a row, committed in chunks like a feed load: a WAL of several MB. */
function writeRows(db: Db, from: number, count: number, chunks = 8): void {
  const insert = db.prepare(
    `INSERT INTO meta (key, value)
     WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     SELECT 'k' || i, hex(randomblob(500)) FROM n`,
  );
  const per = Math.ceil(count / chunks);
  for (let start = from; start < from + count; start += per) {
    insert.run(start, Math.min(start + per, from + count) - 1);
  }
}

const walSize = (db: Db): number => (existsSync(`${db.name}-wal`) ? statSync(`${db.name}-wal`).size : 0);

interface Recorded {
  warnings: string[];
  checkpoints: number;
  log: CheckpointerLog;
  /** Resolves at the next log line that matches. */
  next(kind: 'warn' | 'debug'): Promise<void>;
}

function recorder(): Recorded {
  const waiters: { kind: 'warn' | 'debug'; resolve(): void }[] = [];
  const fire = (kind: 'warn' | 'debug'): void => {
    for (const w of waiters.splice(0)) {
      if (w.kind === kind) w.resolve();
      else waiters.push(w);
    }
  };
  const rec: Recorded = {
    warnings: [],
    checkpoints: 0,
    log: {
      warn(obj, msg) {
        rec.warnings.push(`${msg}: ${(obj as { err?: string }).err ?? ''}`);
        fire('warn');
      },
      debug() {
        rec.checkpoints++;
        fire('debug');
      },
    },
    // The checkpointer's timer is unref'd; the deadline's timer keeps the test process waiting.
    next: (kind) =>
      new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`no ${kind} log line within 10 s`)), 10_000);
        waiters.push({ kind, resolve: () => (clearTimeout(deadline), resolve()) });
      }),
  };
  return rec;
}

function started(t: TestContext, path: string, intervalMs: number, log: CheckpointerLog): Checkpointer {
  const cp = startCheckpointer(path, intervalMs, log, { stopTimeoutMs: 5000 });
  t.after(() => cp.stop());
  return cp;
}

describe('store checkpointer', () => {
  it('openDb limits the WAL file the checkpointer relies on', (t) => {
    const db = openDb(tempDir(t));
    t.after(() => db.close());
    assert.equal(db.pragma('journal_size_limit', { simple: true }), WAL_SIZE_LIMIT_BYTES);
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0);
  });

  it('checkpoints on its timer off the main thread, after which the next write shrinks the WAL and the database file holds every row', async (t) => {
    const dir = tempDir(t);
    const db = openStore(t, dir);
    writeRows(db, 1, ROWS);
    const grown = walSize(db);
    assert.ok(grown > 4 * TEST_WAL_LIMIT, `WAL of ${grown} bytes is too small to show anything`);

    const rec = recorder();
    const cp = started(t, db.name, 20, rec.log);
    // The event loop keeps turning while the worker copies: these ticks run before the checkpoint is reported.
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    await rec.next('debug');
    clearInterval(ticker);
    assert.deepEqual(rec.warnings, []);
    assert.ok(ticks > 0);

    const r = await cp.checkpointNow();
    assert.notEqual(r.threadId, 0, 'the checkpoint ran on the main thread');
    assert.equal(r.busy, false);
    assert.ok(r.walFrames > 0);
    assert.equal(r.checkpointedFrames, r.walFrames, 'a PASSIVE checkpoint with no reader copies every frame');
    // Nothing may write the database file while it is copied below.
    await cp.stop();

    // The database file alone, without its WAL, already holds every row.
    const copy = join(dir, 'copy.db');
    copyFileSync(db.name, copy);
    const alone = new Database(copy);
    try {
      assert.equal((alone.prepare('SELECT count(*) AS n FROM meta').get() as { n: number }).n, ROWS);
      assert.equal(alone.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      alone.close();
    }

    // PASSIVE leaves the file as big as it was; the next write restarts the WAL and journal_size_limit cuts it.
    assert.equal(walSize(db), grown);
    writeRows(db, ROWS + 1, 1, 1);
    assert.ok(walSize(db) <= TEST_WAL_LIMIT, `WAL still ${walSize(db)} bytes`);
    assert.equal((db.prepare('SELECT count(*) AS n FROM meta').get() as { n: number }).n, ROWS + 1);
  });

  it('lets the main connection write while checkpoints run, losing nothing', async (t) => {
    const db = openStore(t, tempDir(t));
    const rec = recorder();
    const cp = started(t, db.name, 1, rec.log);
    for (let round = 0; round < 5; round++) {
      writeRows(db, round * 1000 + 1, 1000, 4);
      const r = await cp.checkpointNow();
      assert.ok(r.checkpointedFrames <= r.walFrames);
    }
    assert.deepEqual(rec.warnings, []);
    await cp.stop();
    db.close();
    const reopened = new Database(db.name, { readonly: true });
    t.after(() => reopened.close());
    assert.equal((reopened.prepare('SELECT count(*) AS n FROM meta').get() as { n: number }).n, 5000);
  });

  it('stop() closes the worker connection: the main connection is then the last one and removes the WAL on close', async (t) => {
    const db = openStore(t, tempDir(t));
    writeRows(db, 1, 500, 2);
    const rec = recorder();
    const cp = started(t, db.name, 20, rec.log);
    await cp.checkpointNow();
    await cp.stop();
    await assert.rejects(cp.checkpointNow(), /stopped/);
    const seen = rec.checkpoints;
    // Real time, because the checkpointer runs its own timer: once it runs on the scheduler's injectable
    // clock (issue #9), advance that clock by several intervals here instead.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(rec.checkpoints, seen, 'the timer went on after stop()');
    db.close();
    assert.equal(existsSync(`${db.name}-wal`), false, 'another connection (the worker) still had the database open');
  });

  it('a failing checkpoint is a warning and is retried each interval; it recovers once the database is there', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'gatehouse.db');
    const rec = recorder();
    const cp = started(t, path, 20, rec.log);
    await rec.next('warn');
    await rec.next('warn');
    assert.ok(rec.warnings.length >= 2);
    assert.match(rec.warnings[0]!, /store checkpoint failed.*unable to open database file/);
    assert.equal(existsSync(path), false, 'the checkpointer created a database');
    await assert.rejects(cp.checkpointNow(), /unable to open/);

    openStore(t, dir);
    await rec.next('debug');
    const r = await cp.checkpointNow();
    assert.equal(r.busy, false);
  });

  it('reports a file that is not a database instead of throwing', async (t) => {
    const path = join(tempDir(t), 'not.db');
    writeFileSync(path, 'x'.repeat(4096));
    const rec = recorder();
    const cp = started(t, path, 20, rec.log);
    await rec.next('warn');
    assert.match(rec.warnings[0]!, /not a database/);
    await cp.stop();
  });

  it('does not keep the process alive: a program that never calls stop() still exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-ckpt-exit-'));
    try {
      const script = `
        import { openDb } from ${JSON.stringify(new URL('../../src/store/db.ts', import.meta.url).href)};
        import { startCheckpointer } from ${JSON.stringify(new URL('../../src/store/checkpointer.ts', import.meta.url).href)};
        const db = openDb(${JSON.stringify(dir)});
        const cp = startCheckpointer(db.name, 10, { warn: console.error, debug() {} });
        const r = await cp.checkpointNow();
        console.log(r.threadId > 0 ? 'checkpointed' : 'main thread');
      `;
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
        );
      });
      assert.equal(out.trim(), 'checkpointed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
