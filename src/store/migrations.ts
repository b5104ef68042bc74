import type Database from 'better-sqlite3';

type Db = Database.Database;

/** One schema step: SQL text, or a function for a step SQL alone cannot express (a data rewrite). */
export type MigrationStep = string | ((db: Db) => void);

/**
 * The schema a module owns, as it declares it. Append only: a gateway's database records how many steps of
 * each module it has, so an edited step would never reach a database that already ran it.
 */
export interface Migrations {
  /** Unique per database; names the module's row in `schema_migrations`. Never renamed once shipped. */
  readonly module: string;
  readonly steps: readonly MigrationStep[];
  /**
   * For a database made before per-module tracking existed: how many of `steps` it already has (read from
   * `user_version` or from the tables' presence). Asked once, when the module has no row yet.
   */
  readonly legacyApplied?: (db: Db) => number;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

const MODULE_NAME = /^[a-z][a-z0-9-]{0,63}$/;

/**
 * Brings every module's schema up to date, each step in its own transaction with the count that records it,
 * so a crash leaves each module at a step boundary. A module the database knows more steps of than this
 * code declares was written by a newer Gatehouse: refused, rather than run against a schema it does not know.
 * Modules the database holds but `modules` does not name are left as they are (a module switched off).
 */
export function migrate(db: Db, modules: readonly Migrations[]): void {
  const names = new Set<string>();
  for (const m of modules) {
    if (!MODULE_NAME.test(m.module)) throw new MigrationError(`migration module name ${JSON.stringify(m.module)} must be lower-case letters, digits and -`);
    if (names.has(m.module)) throw new MigrationError(`two modules declare migrations named ${m.module}`);
    names.add(m.module);
  }
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (module TEXT PRIMARY KEY, applied INTEGER NOT NULL)');
  const read = db.prepare<[string], { applied: number }>('SELECT applied FROM schema_migrations WHERE module = ?');
  const write = db.prepare('INSERT INTO schema_migrations (module, applied) VALUES (?, ?) ON CONFLICT(module) DO UPDATE SET applied = excluded.applied');
  for (const m of modules) {
    let applied = read.get(m.module)?.applied;
    if (applied === undefined) {
      applied = Math.min(m.legacyApplied?.(db) ?? 0, m.steps.length);
      write.run(m.module, applied);
    }
    if (applied > m.steps.length) {
      throw new MigrationError(
        `the database has ${applied} schema steps of ${m.module} but this Gatehouse knows ${m.steps.length}: it was written by a newer version`,
      );
    }
    for (let i = applied; i < m.steps.length; i++) {
      const step = m.steps[i]!;
      db.transaction(() => {
        if (typeof step === 'string') db.exec(step);
        else step(db);
        write.run(m.module, i + 1);
      })();
    }
  }
}

/** The steps of one module the database records as applied; 0 when it has none. */
export function appliedSteps(db: Db, module: string): number {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!has) return 0;
  const r = db.prepare<[string], { applied: number }>('SELECT applied FROM schema_migrations WHERE module = ?').get(module);
  return r?.applied ?? 0;
}
