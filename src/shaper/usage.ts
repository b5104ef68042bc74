import type { StoreHandle } from '../modules/index.js';
import type { Migrations } from '../store/index.js';

/*
 * Bytes per share per hour, for the dashboard and `bytes today` in status. The controller adds what the
 * kernel counted since its last read every few seconds; one row per share and hour keeps the table small
 * (150 residents × 24 h × 90 days ≈ 300k rows).
 */

export const shaperMigrations: Migrations = {
  module: 'shaper',
  steps: [
    `CREATE TABLE shaper_usage (
       client TEXT NOT NULL,
       hour INTEGER NOT NULL,
       down INTEGER NOT NULL DEFAULT 0,
       up INTEGER NOT NULL DEFAULT 0,
       PRIMARY KEY (client, hour)
     ) WITHOUT ROWID`,
    `CREATE INDEX shaper_usage_hour ON shaper_usage (hour)`,
  ],
};

export const HOUR_MS = 3_600_000;
export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** Local midnight of the day `ms` falls in: "today" as the admin reads it. */
export function dayStart(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

export interface UsageRow {
  readonly client: string;
  readonly hour: number;
  readonly down: number;
  readonly up: number;
}

export class UsageRepo {
  private readonly upsert;
  private readonly since;
  private readonly history;
  private readonly prune;

  constructor(private readonly db: StoreHandle) {
    this.upsert = db.prepare(
      'INSERT INTO shaper_usage (client, hour, down, up) VALUES (?, ?, ?, ?) ON CONFLICT (client, hour) DO UPDATE SET down = down + excluded.down, up = up + excluded.up',
    );
    this.since = db.prepare('SELECT client, SUM(down) AS down, SUM(up) AS up FROM shaper_usage WHERE hour >= ? GROUP BY client');
    this.history = db.prepare('SELECT client, hour, down, up FROM shaper_usage WHERE hour >= ? AND (? IS NULL OR client = ?) ORDER BY hour, client');
    this.prune = db.prepare('DELETE FROM shaper_usage WHERE hour < ?');
  }

  /** Adds the bytes counted since the last call, in one transaction. */
  add(rows: readonly UsageRow[]): void {
    if (rows.length === 0) return;
    this.db.transaction(() => {
      for (const r of rows) if (r.down > 0 || r.up > 0) this.upsert.run(r.client, r.hour, r.down, r.up);
    })();
  }

  /** Totals per share since `fromMs` (e.g. local midnight). */
  totalsSince(fromMs: number): Map<string, { down: number; up: number }> {
    const out = new Map<string, { down: number; up: number }>();
    for (const r of this.since.all(hourOf(fromMs)) as { client: string; down: number; up: number }[]) out.set(r.client, { down: r.down, up: r.up });
    return out;
  }

  /** Hourly rows since `fromMs`, of one share or all. */
  rows(fromMs: number, client?: string): UsageRow[] {
    const c = client ?? null;
    return this.history.all(hourOf(fromMs), c, c) as UsageRow[];
  }

  /** Drops hours older than `beforeMs`. */
  pruneBefore(beforeMs: number): number {
    return this.prune.run(beforeMs).changes;
  }
}
