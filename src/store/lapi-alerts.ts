import type Database from 'better-sqlite3';
import { jsonArray } from './json-column.js';
import { Where } from './where.js';

/**
 * The alerts watchers push to our Local API, and one stand-in alert per origin whose decisions came from no
 * alert (manual bans, feeds): `cscli decisions list` only shows decisions under alerts, as CrowdSec shows
 * list and console decisions under alerts of their own. Decisions themselves live in the decision store; an
 * alert keeps references to the ones it created (ids), and readers resolve them to what is live.
 */

/** A decision as it was created from an alert, kept with the alert. */
export interface AlertDecisionRef {
  readonly id: number;
  readonly value: string;
  readonly scope: string;
  readonly type: string;
  readonly origin: string;
  readonly scenario: string;
  /** Epoch ms; null = until deleted. */
  readonly expiresAt: number | null;
}

export interface NewLapiAlert {
  readonly machineId: string;
  readonly scenario: string;
  readonly sourceScope: string;
  readonly sourceValue: string;
  readonly createdAt: number;
  readonly decisions: readonly AlertDecisionRef[];
  /** The alert as the watcher sent it, bounded (alert-limits.ts storedAlert), as JSON text. */
  readonly raw: string;
}

export interface LapiAlert extends NewLapiAlert {
  readonly id: number;
  /** Set on an origin's stand-in alert: the decisions of this origin that no stored alert refers to. */
  readonly origin: string | null;
}

export interface AlertQuery {
  readonly scope?: string;
  readonly value?: string;
  readonly scenario?: string;
  readonly machineId?: string;
  /** Epoch ms: only alerts created at or after. */
  readonly since?: number;
  /** Only alerts listed after this one (keyset paging, newest first: [createdAt, id] of the last alert seen). */
  readonly before?: readonly [createdAt: number, id: number];
  readonly limit?: number;
}

/**
 * How many watcher alerts are kept, and how long: CrowdSec's own defaults for its database (db_config.flush
 * max_items 5000, max_age 7d). Purging an alert never touches its decisions; the live ones show up under
 * their origin's stand-in alert instead.
 */
export const ALERT_RETENTION = { maxAgeMs: 7 * 86_400_000, maxCount: 5000 } as const;

interface AlertRow {
  id: number;
  machine_id: string;
  scenario: string;
  source_scope: string;
  source_value: string;
  created_at: number;
  decisions: string;
  raw: string;
  origin: string | null;
}

function toAlert(r: AlertRow): LapiAlert {
  // A damaged list only loses the references: the decisions stay enforced and listed under their origin.
  const decisions = jsonArray(r.decisions) as AlertDecisionRef[];
  return {
    id: r.id,
    machineId: r.machine_id,
    scenario: r.scenario,
    sourceScope: r.source_scope,
    sourceValue: r.source_value,
    createdAt: r.created_at,
    decisions,
    raw: r.raw,
    origin: r.origin,
  };
}

export class LapiAlerts {
  constructor(private readonly db: Database.Database) {}

  add(a: NewLapiAlert): number {
    return Number(
      this.db
        .prepare(
          'INSERT INTO lapi_alerts (machine_id, scenario, source_scope, source_value, created_at, decisions, raw) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(a.machineId, a.scenario, a.sourceScope, a.sourceValue, a.createdAt, JSON.stringify(a.decisions), a.raw).lastInsertRowid,
    );
  }

  get(id: number): LapiAlert | undefined {
    const r = this.db.prepare('SELECT * FROM lapi_alerts WHERE id = ?').get(id) as AlertRow | undefined;
    return r ? toAlert(r) : undefined;
  }

  /** Newest first (by creation, as CrowdSec sorts), like `GET /v1/alerts`; origin stand-ins included. */
  list(q: AlertQuery = {}): LapiAlert[] {
    const where = new Where()
      .andIf('scope', q.scope, 'lower(source_scope) = lower(@scope)')
      .andIf('value', q.value, 'source_value = @value')
      .andIf('scenario', q.scenario)
      .andIf('machine', q.machineId, 'machine_id = @machine')
      .andIf('since', q.since, 'created_at >= @since')
      .andIf('beforeAt', q.before?.[0], '(created_at, id) < (@beforeAt, @beforeId)');
    if (q.before) where.params.beforeId = q.before[1];
    const limit = Math.max(0, Math.min(q.limit ?? 100, 10_000));
    return (this.db.prepare(`SELECT * FROM lapi_alerts ${where} ORDER BY created_at DESC, id DESC LIMIT ${limit}`).all(where.params) as AlertRow[]).map(toAlert);
  }

  /**
   * The stand-in alert of this origin, made on first use so its id stays the same between listings. It is
   * dated `createdAt` (its oldest decision's creation), so it sorts among the alerts where its story starts.
   */
  originAlert(origin: string, createdAt: number): LapiAlert {
    this.db
      .prepare(
        `INSERT INTO lapi_alerts (machine_id, scenario, source_scope, source_value, created_at, decisions, raw, origin)
         VALUES ('', @origin, @origin, '', @createdAt, '[]', '{}', @origin) ON CONFLICT DO NOTHING`,
      )
      .run({ origin, createdAt });
    return toAlert(this.db.prepare('SELECT * FROM lapi_alerts WHERE origin = ?').get(origin) as AlertRow);
  }

  /** Ids of the decisions stored alerts refer to, among these candidates. */
  referenced(decisionIds: readonly number[]): Set<number> {
    if (decisionIds.length === 0) return new Set();
    const rows = this.db
      .prepare(
        `SELECT DISTINCT CAST(json_extract(j.value, '$.id') AS INTEGER) AS id FROM lapi_alerts a, json_each(a.decisions) j
         WHERE a.origin IS NULL AND json_extract(j.value, '$.id') IN (SELECT value FROM json_each(@ids))`,
      )
      .pluck()
      .all({ ids: JSON.stringify(decisionIds) }) as number[];
    return new Set(rows);
  }

  delete(id: number): boolean {
    return this.db.prepare('DELETE FROM lapi_alerts WHERE id = ?').run(id).changes > 0;
  }

  /**
   * Drops watcher alerts older than `olderThan` (epoch ms) and all but the newest `keep`; origin stand-ins
   * stay. Decisions the alerts created are not touched.
   */
  purge(olderThan: number, keep: number = ALERT_RETENTION.maxCount): number {
    const old = this.db.prepare('DELETE FROM lapi_alerts WHERE origin IS NULL AND created_at < ?').run(olderThan).changes;
    const over = this.db
      .prepare(
        `DELETE FROM lapi_alerts WHERE origin IS NULL AND id <= (
           SELECT id FROM lapi_alerts WHERE origin IS NULL ORDER BY id DESC LIMIT 1 OFFSET @keep)`,
      )
      .run({ keep: Math.max(0, Math.floor(keep)) }).changes;
    return old + over;
  }
}
