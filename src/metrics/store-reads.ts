import type { StoreHandle } from '../modules/index.js';

/*
 * Counts read straight from the store's decisions and allow tables (read-only). A GROUP BY over a million
 * rows takes a few hundred ms, so the caller caches it; no decisions API offers counts by origin.
 */

export interface DecisionCounts {
  readonly decisions: readonly { readonly origin: string; readonly direction: string; readonly count: number }[];
  readonly total: number;
  readonly allow: number;
}

export function decisionCounts(db: StoreHandle, now: number): DecisionCounts {
  const decisions = db
    .prepare(
      `SELECT origin, direction, count(*) AS count FROM decisions
       WHERE deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ?) GROUP BY origin, direction`,
    )
    .all(now) as { origin: string; direction: string; count: number }[];
  const allow = (db.prepare('SELECT count(*) AS n FROM allow_entries WHERE expires_at IS NULL OR expires_at > ?').get(now) as { n: number }).n;
  return { decisions, total: decisions.reduce((s, r) => s + r.count, 0), allow };
}
