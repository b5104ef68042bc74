import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrate, type Migrations } from './migrations.js';

export type Db = Database.Database;

/**
 * Rebuilds the hourly rollup from the block rows, each row's attempts in the hour it was last seen (the rows keep
 * no finer history): for a database made before the rollup existed, and for tools that write block rows directly.
 */
export const BLOCK_HOURLY_BACKFILL = `INSERT INTO block_hourly (hour, direction, mode, client_ip, client_name, attempts, bytes)
   SELECT (CAST(last_seen AS INTEGER) / 3600000) * 3600000, direction, mode, client_ip, max(client_name), sum(count), sum(bytes)
   FROM block_events GROUP BY 1, 2, 3, 4`;

/**
 * The core schema (decisions, allow list, block events). Append only, like every module's (migrations.ts).
 * Before per-module tracking its applied count lived in `user_version`, which a database made then still holds.
 */
export const storeMigrations: Migrations = {
  module: 'store',
  legacyApplied: (db) => db.pragma('user_version', { simple: true }) as number,
  steps: [
  `CREATE TABLE decisions (
     id INTEGER PRIMARY KEY,
     value TEXT NOT NULL,
     family INTEGER NOT NULL,
     prefix INTEGER NOT NULL,
     is_range INTEGER NOT NULL,
     start BLOB NOT NULL,
     end BLOB NOT NULL,
     origin TEXT NOT NULL,
     scenario TEXT NOT NULL DEFAULT '',
     reason TEXT NOT NULL DEFAULT '',
     direction TEXT NOT NULL CHECK (direction IN ('inbound','outbound','both')),
     created_at INTEGER NOT NULL,
     expires_at INTEGER,
     deleted_at INTEGER
   );
   CREATE UNIQUE INDEX decisions_active_key ON decisions(value, origin, scenario) WHERE deleted_at IS NULL;
   CREATE INDEX decisions_ranges ON decisions(family, start) WHERE is_range = 1 AND deleted_at IS NULL;
   CREATE INDEX decisions_expiry ON decisions(expires_at) WHERE deleted_at IS NULL AND expires_at IS NOT NULL;
   CREATE INDEX decisions_created ON decisions(created_at);
   -- No index on origin: it would cost a sixth of a million-line import, and listing or counting one
   -- origin (a feed's status, a CrowdSec full sync) is a scan of well under a second even at a million.
   CREATE INDEX decisions_deleted ON decisions(deleted_at) WHERE deleted_at IS NOT NULL;

   CREATE TABLE allow_entries (
     id INTEGER PRIMARY KEY,
     value TEXT NOT NULL UNIQUE,
     family INTEGER NOT NULL,
     prefix INTEGER NOT NULL,
     start BLOB NOT NULL,
     end BLOB NOT NULL,
     reason TEXT NOT NULL DEFAULT '',
     created_at INTEGER NOT NULL,
     expires_at INTEGER
   );

   CREATE TABLE block_events (
     id INTEGER PRIMARY KEY,
     direction TEXT NOT NULL,
     client_ip TEXT NOT NULL,
     client_mac TEXT,
     client_name TEXT,
     remote_ip TEXT NOT NULL,
     protocol TEXT NOT NULL,
     port INTEGER NOT NULL,
     mode TEXT NOT NULL,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     count INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     decision_ids TEXT NOT NULL DEFAULT '[]',
     reasons TEXT NOT NULL DEFAULT '[]',
     domain TEXT
   );
   CREATE UNIQUE INDEX block_events_key ON block_events(direction, client_ip, remote_ip, protocol, port, mode);
   CREATE INDEX block_events_last ON block_events(last_seen);
   CREATE INDEX block_events_remote ON block_events(remote_ip);

   CREATE TABLE hit_baseline (key TEXT PRIMARY KEY, packets INTEGER NOT NULL, bytes INTEGER NOT NULL);

   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // Attempts per hour, direction, mode and client, added as the collector counts them: the overview's chart and
  // per-client counts read a few thousand rows instead of every block row of the day (a million in a scan storm).
  `CREATE TABLE block_hourly (
     hour INTEGER NOT NULL,
     direction TEXT NOT NULL,
     mode TEXT NOT NULL,
     client_ip TEXT NOT NULL,
     client_name TEXT,
     attempts INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     PRIMARY KEY (hour, direction, mode, client_ip)
   ) WITHOUT ROWID;
   ${BLOCK_HOURLY_BACKFILL};
   -- The remote index grows the columns the most-hit ranking reads, so that pass reads the index alone, in remote
   -- order: ~0.25 s for a million rows instead of ~2 s for a sort of the window's rows (block-window.ts).
   DROP INDEX block_events_remote;
   CREATE INDEX block_events_by_remote ON block_events(remote_ip, direction, last_seen, count);`,
  ],
};

/** The WAL file is cut back to this size once a checkpoint has emptied it (see openDb). */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** Opens (creating if needed) the database and applies the core schema and then each module's, in order. */
export function openDb(dataDir: string, fileName = 'gatehouse.db', modules: readonly Migrations[] = []): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dataDir, fileName));
  db.pragma('journal_mode = WAL');
  // NORMAL under WAL keeps commits durable across a daemon crash; only a power cut can lose the last ones.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // 64 MiB of page cache: a million-row import touches index pages all over the file; the 2 MiB default
  // makes it three times slower.
  db.pragma('cache_size = -65536');
  // No checkpoint on commit: a bulk import commits chunk after chunk, and checkpointing (copy + fsync) after
  // each one costs a quarter of a million-line import. The daemon checkpoints on a timer instead.
  db.pragma('wal_autocheckpoint = 0');
  // The periodic checkpoint is PASSIVE (checkpointer.ts), which never shrinks the WAL file: the first write
  // after a complete checkpoint restarts the WAL from its start, and this limit then truncates the file.
  // 64 MiB keeps the space a normal minute of writes (a feed refresh, a CrowdSec delta) reuses without
  // growing the file again, while a bulk load's several hundred MB go back to the disk.
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  migrate(db, [storeMigrations, ...modules]);
  // What the code before per-module migrations counted: kept, so a rolled-back Gatehouse still opens the file.
  // Stays 1, the one step that code knew, whatever steps came after it: the later ones are tracked per module.
  if ((db.pragma('user_version', { simple: true }) as number) < 1) db.pragma('user_version = 1');
  return db;
}

/**
 * Copies the WAL into the database file (with its fsync) and empties it, on the main connection: it waits
 * for readers and blocks the event loop, so the daemon runs it only on stop; the periodic one is checkpointer.ts.
 */
export function checkpoint(db: Db): void {
  db.pragma('wal_checkpoint(TRUNCATE)');
}
