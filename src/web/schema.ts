import type { Migrations } from '../store/index.js';

/** The dashboard's tables: admin accounts (scrypt hashes) and login sessions (only the id's SHA-256 is kept). */
export const webMigrations: Migrations = {
  module: 'web',
  steps: [
    `CREATE TABLE web_admins (
       name TEXT PRIMARY KEY,
       hash TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL
     );
     CREATE TABLE web_sessions (
       id_sha256 TEXT PRIMARY KEY,
       admin TEXT NOT NULL,
       csrf TEXT NOT NULL,
       client TEXT NOT NULL DEFAULT '',
       created_at INTEGER NOT NULL,
       expires_at INTEGER NOT NULL
     );
     CREATE INDEX web_sessions_admin ON web_sessions(admin);
     CREATE INDEX web_sessions_expiry ON web_sessions(expires_at);`,
  ],
};
