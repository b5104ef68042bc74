import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/db.js';

/**
 * The condition of a live decision in the `decisions` table (binds `@now`): not deleted, not expired. The
 * read models next to their users (the CrowdSec stream, the mirror) use it, so "active" means one thing.
 */
export const ACTIVE_DECISION = 'deleted_at IS NULL AND (expires_at IS NULL OR expires_at > @now)';

/** Raw (row-array) statements prepared once per text; filters make a handful of distinct texts. */
export class RawStatements {
  private readonly cache = new Map<string, Statement>();
  constructor(private readonly db: Db) {}

  get(text: string): Statement {
    let stmt = this.cache.get(text);
    if (!stmt) {
      stmt = this.db.prepare(text).raw(true);
      if (this.cache.size > 64) this.cache.clear();
      this.cache.set(text, stmt);
    }
    return stmt;
  }
}
