import type { Migrations } from '../store/index.js';

/*
 * The portal's tables. Append only (store/migrations.ts). Passwords are scrypt hashes; voucher codes are
 * secrets too, so only their sha256 is kept, with the first characters for `vouchers list`.
 */
export const portalMigrations: Migrations = {
  module: 'portal',
  steps: [
    `CREATE TABLE portal_users (
       name TEXT PRIMARY KEY,
       hash TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL
     )`,
    `CREATE TABLE portal_vouchers (
       id INTEGER PRIMARY KEY,
       prefix TEXT NOT NULL,
       hash TEXT NOT NULL UNIQUE,
       time_ms INTEGER,
       download INTEGER,
       upload INTEGER,
       uses INTEGER NOT NULL,
       used INTEGER NOT NULL DEFAULT 0,
       first_used_at INTEGER,
       created_at INTEGER NOT NULL
     )`,
    `CREATE TABLE portal_sessions (
       id TEXT PRIMARY KEY,
       user TEXT NOT NULL,
       method TEXT NOT NULL,
       voucher_id INTEGER,
       mac TEXT NOT NULL,
       ipv4 TEXT NOT NULL,
       ipv6 TEXT NOT NULL,
       started_at INTEGER NOT NULL,
       ends_at INTEGER NOT NULL,
       last_activity INTEGER NOT NULL,
       bytes_down INTEGER NOT NULL DEFAULT 0,
       bytes_up INTEGER NOT NULL DEFAULT 0,
       grant_down INTEGER,
       grant_down_kind TEXT,
       grant_up INTEGER,
       grant_up_kind TEXT,
       counters TEXT NOT NULL DEFAULT '{}',
       state TEXT NOT NULL,
       end_reason TEXT,
       ended_at INTEGER
     )`,
    `CREATE INDEX portal_sessions_live ON portal_sessions (state, user)`,
    `CREATE TABLE portal_usage (
       user TEXT NOT NULL,
       day TEXT NOT NULL,
       down INTEGER NOT NULL DEFAULT 0,
       up INTEGER NOT NULL DEFAULT 0,
       PRIMARY KEY (user, day)
     )`,
  ],
};
