import type { Migrations } from './migrations.js';

/**
 * The tables of the CrowdSec-compatible Local API: bouncers, watchers (machines) and the alerts watchers push.
 * Append only (migrations.ts).
 */
export const lapiMigrations: Migrations = {
  module: 'lapi',
  // Before per-module tracking these tables were created at start by the credentials store itself, with the
  // same columns as step 1: a database that has them has step 1.
  legacyApplied: (db) => (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lapi_bouncers'").get() ? 1 : 0),
  steps: [
    `CREATE TABLE lapi_bouncers (
       id INTEGER PRIMARY KEY,
       name TEXT NOT NULL UNIQUE,
       key_sha256 TEXT NOT NULL UNIQUE,
       created_at INTEGER NOT NULL,
       last_pull INTEGER,
       ip_address TEXT NOT NULL DEFAULT '',
       type TEXT NOT NULL DEFAULT '',
       version TEXT NOT NULL DEFAULT ''
     );
     CREATE TABLE lapi_machines (
       id INTEGER PRIMARY KEY,
       machine_id TEXT NOT NULL UNIQUE,
       password_hash TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       last_login INTEGER,
       last_heartbeat INTEGER,
       ip_address TEXT NOT NULL DEFAULT '',
       scenarios TEXT NOT NULL DEFAULT '[]'
     );
     CREATE TABLE lapi_alerts (
       id INTEGER PRIMARY KEY,
       machine_id TEXT NOT NULL,
       scenario TEXT NOT NULL,
       source_scope TEXT NOT NULL,
       source_value TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       decisions TEXT NOT NULL,
       raw TEXT NOT NULL
     );
     CREATE INDEX lapi_alerts_created ON lapi_alerts(created_at);
     CREATE INDEX lapi_alerts_value ON lapi_alerts(source_value);`,
    // Alert ids are never reused (AUTOINCREMENT): `cscli alerts inspect N` must not show another alert once
    // N was purged. And an origin's stand-in alert (lapi-alerts.ts): one per origin, found by it.
    `CREATE TABLE lapi_alerts_v2 (
       id INTEGER PRIMARY KEY AUTOINCREMENT,
       machine_id TEXT NOT NULL,
       scenario TEXT NOT NULL,
       source_scope TEXT NOT NULL,
       source_value TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       decisions TEXT NOT NULL,
       raw TEXT NOT NULL,
       origin TEXT
     );
     INSERT INTO lapi_alerts_v2 (id, machine_id, scenario, source_scope, source_value, created_at, decisions, raw)
       SELECT id, machine_id, scenario, source_scope, source_value, created_at, decisions, raw FROM lapi_alerts;
     DROP TABLE lapi_alerts;
     ALTER TABLE lapi_alerts_v2 RENAME TO lapi_alerts;
     CREATE INDEX lapi_alerts_created ON lapi_alerts(created_at);
     CREATE INDEX lapi_alerts_value ON lapi_alerts(source_value);
     CREATE UNIQUE INDEX lapi_alerts_origin ON lapi_alerts(origin) WHERE origin IS NOT NULL;`,
  ],
};
