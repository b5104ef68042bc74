import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { appliedSteps, migrate, type Migrations } from '../../store/index.js';

export type QueryLogDb = Database.Database;

/** The query log's own file: resolver workers write it directly, and its volume stays out of the main store's WAL. */
export const QUERY_LOG_FILE = 'dns-queries.sqlite';

export function queryLogPath(dataDir: string): string {
  return join(dataDir, QUERY_LOG_FILE);
}

/**
 * Append only (store/migrations.ts). Few indexes on purpose: every one is paid on each of tens of thousands
 * of inserts a second, while the reads (an admin's listing, a top every now and then) are rare.
 * - t: time windows, newest-first listings, retention;
 * - blocked: a partial index, small because most queries are not blocked.
 * No index on the client: it made inserts twice as slow (measured 210-330k → 500-550k rows/s without it),
 * while a client, domain, MAC or name filter walks t newest first and stops at the limit (a few ms for a
 * client that asks anything; about a second over a million rows for one that never did, on the daemon's
 * reader thread).
 */
export const queryLogMigrations: Migrations = {
  module: 'dns-querylog',
  steps: [
    `CREATE TABLE queries (
       id INTEGER PRIMARY KEY,
       t INTEGER NOT NULL,
       client TEXT,
       mac TEXT,
       client_name TEXT,
       name TEXT NOT NULL,
       qtype INTEGER NOT NULL,
       rcode INTEGER NOT NULL,
       answer TEXT,
       blocked_by TEXT,
       blocked_what TEXT,
       monitored TEXT,
       upstream TEXT,
       latency_us INTEGER NOT NULL,
       cached INTEGER NOT NULL
     );
     CREATE INDEX queries_t ON queries(t);
     CREATE INDEX queries_blocked ON queries(t) WHERE blocked_by IS NOT NULL;`,
  ],
};

export interface OpenOptions {
  /**
   * How long a statement waits for another connection's write lock. A worker keeps it short: the wait
   * blocks its answer loop, and a flush that finds the lock taken simply tries again a moment later.
   */
  readonly busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) the query log file: WAL so the daemon reads while workers write, NORMAL sync
 * (a crash of the power can lose the last second of log, never the file), no automatic checkpoint on the
 * writers' commits (that copy would run on a worker's answer loop; the daemon checkpoints it on a timer).
 */
export function openQueryLogDb(file: string, o: OpenOptions = {}): QueryLogDb {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  try {
    // First: the pragmas and the migration below may meet another process opening the same file.
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(o.busyTimeoutMs ?? 5000))}`);
    withBusyRetry(() => db.pragma('journal_mode = WAL'));
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_autocheckpoint = 0');
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    // Read first: a file already up to date needs no write lock, which a busy worker may hold for a while.
    // Else IMMEDIATE: two workers starting at once must not both see an empty schema and both create it.
    if (appliedSteps(db, queryLogMigrations.module) !== queryLogMigrations.steps.length) {
      withBusyRetry(() => db.transaction(() => migrate(db, [queryLogMigrations])).immediate());
    }
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

export function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** Opening happens once per process: a few retries over the short busy timeout a worker uses. */
function withBusyRetry<T>(f: () => T, tries = 50): T {
  for (let i = 1; ; i++) {
    try {
      return f();
    } catch (e) {
      if (!isBusy(e) || i >= tries) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}
