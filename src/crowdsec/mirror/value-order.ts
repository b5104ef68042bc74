import { ACTIVE_DECISION, RawStatements } from '../../decisions/sql.js';
import type { Db } from '../../store/db.js';

/** An active decision in value order, for the blocklist mirror. [value, origin, scenario] is the page key. */
export type ValueOrderRow = readonly [value: string, origin: string, scenario: string, family: 4 | 6, isRange: 0 | 1, expiresAt: number | null];

export interface ValueOrderQuery {
  /** Continue after this [value, origin, scenario] (the last row of the previous page). */
  readonly after?: readonly [string, string, string];
  readonly limit: number;
}

/** What the mirror reads: pages of active decisions sorted by value (then origin, scenario). */
export interface ValueOrderSource {
  activeInValueOrder(q: ValueOrderQuery): ValueOrderRow[];
}

/** The mirror's read of the decision store, straight from the (value, origin, scenario) index. */
export class MirrorDecisionReads implements ValueOrderSource {
  private readonly raw: RawStatements;

  constructor(db: Db, private readonly clock: () => number = Date.now) {
    this.raw = new RawStatements(db);
  }

  activeInValueOrder(q: ValueOrderQuery): ValueOrderRow[] {
    // The index is already in this order: no sort, and a row-value keyset continues exactly where the
    // previous page stopped, duplicates of a value included.
    const after = q.after ? ' AND (value, origin, scenario) > (@v, @o, @s)' : '';
    const stmt = this.raw.get(`SELECT value, origin, scenario, family, is_range, expires_at FROM decisions INDEXED BY decisions_active_key
      WHERE ${ACTIVE_DECISION}${after} ORDER BY value, origin, scenario LIMIT @limit`);
    const params: Record<string, unknown> = { now: this.clock(), limit: Math.max(0, Math.floor(q.limit)) };
    if (q.after) Object.assign(params, { v: q.after[0], o: q.after[1], s: q.after[2] });
    return stmt.all(params) as ValueOrderRow[];
  }
}
