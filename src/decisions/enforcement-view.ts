import type { Db } from '../store/index.js';
import type { Family } from '../net/ip.js';

/** What the kernel must hold for one single-address value: the union of its active decisions. */
export interface HostState {
  readonly value: string;
  readonly family: Family;
  readonly inbound: boolean;
  readonly outbound: boolean;
  /** Latest expiry of its decisions; null when one of them never expires. */
  readonly expiresAt: number | null;
  /** How many active decisions make up this state; 1 means the element is new to the kernel. */
  readonly decisions: number;
}

export interface RangeState {
  readonly start: Buffer;
  readonly end: Buffer;
  readonly inbound: boolean;
  readonly outbound: boolean;
}

export interface AllowRange {
  readonly start: Buffer;
  readonly end: Buffer;
}

const ACTIVE = 'deleted_at IS NULL AND (expires_at IS NULL OR expires_at > @now)';
const HOST_AGG = `SELECT value, family,
    max(direction IN ('inbound','both')) AS inbound,
    max(direction IN ('outbound','both')) AS outbound,
    CASE WHEN max(expires_at IS NULL) = 1 THEN NULL ELSE max(expires_at) END AS expiresAt,
    count(*) AS decisions
  FROM decisions`;

interface HostRow {
  value: string;
  family: number;
  inbound: number;
  outbound: number;
  expiresAt: number | null;
  decisions: number;
}

function toHost(r: HostRow): HostState {
  return {
    value: r.value,
    family: r.family as Family,
    inbound: r.inbound === 1,
    outbound: r.outbound === 1,
    expiresAt: r.expiresAt,
    decisions: r.decisions,
  };
}

/**
 * Read-only queries the firewall needs to turn decisions into kernel set contents. They live here so that
 * only the decisions module knows the decisions table.
 */
export class EnforcementView {
  constructor(private readonly db: Db, private readonly clock: () => number = Date.now) {}

  *allHosts(): IterableIterator<HostState> {
    const q = this.db.prepare(`${HOST_AGG} WHERE is_range = 0 AND ${ACTIVE} GROUP BY value`);
    for (const r of q.iterate({ now: this.clock() })) yield toHost(r as HostRow);
  }

  /** Host states for the values inserted with ids in [from, to]. */
  *hostsInserted(from: number, to: number): IterableIterator<HostState> {
    const q = this.db.prepare(
      `${HOST_AGG} WHERE is_range = 0 AND ${ACTIVE}
         AND value IN (SELECT value FROM decisions WHERE id BETWEEN @from AND @to AND is_range = 0)
       GROUP BY value`,
    );
    for (const r of q.iterate({ now: this.clock(), from, to })) yield toHost(r as HostRow);
  }

  /**
   * Rows inserted with ids in [from, to], each as if it were its value's only decision: right for values
   * the writer saw no other active decision for (the caller redoes the others).
   */
  *insertedHostRows(from: number, to: number): IterableIterator<HostState> {
    const q = this.db
      .prepare(
        `SELECT value, family, direction, expires_at FROM decisions
         WHERE id BETWEEN @from AND @to AND is_range = 0 AND ${ACTIVE}`,
      )
      .raw(true);
    for (const r of q.iterate({ now: this.clock(), from, to })) {
      const [value, family, direction, expiresAt] = r as [string, number, string, number | null];
      yield {
        value,
        family: family as Family,
        inbound: direction !== 'outbound',
        outbound: direction !== 'inbound',
        expiresAt,
        decisions: 1,
      };
    }
  }

  /** Current state of given values; values with no active decision are absent from the result. */
  hostsFor(values: readonly string[]): Map<string, HostState> {
    const out = new Map<string, HostState>();
    const q = this.db.prepare(`${HOST_AGG} WHERE value = @value AND is_range = 0 AND ${ACTIVE} GROUP BY value`);
    const now = this.clock();
    for (const value of values) {
      const r = q.get({ value, now }) as HostRow | undefined;
      if (r) out.set(value, toHost(r));
    }
    return out;
  }

  /**
   * Single-address values whose decisions all expire, the latest after `after` (epoch ms): those a capped
   * kernel timeout may not cover to the end, so the enforcer re-asserts them.
   */
  valuesExpiringAfter(after: number): string[] {
    return this.db
      .prepare(`SELECT value FROM decisions WHERE is_range = 0 AND ${ACTIVE} GROUP BY value HAVING max(expires_at IS NULL) = 0 AND max(expires_at) > @after`)
      .pluck()
      .all({ now: this.clock(), after }) as string[];
  }

  insertedRanges(from: number, to: number): boolean {
    if (from > to) return false;
    return this.db.prepare('SELECT 1 FROM decisions WHERE id BETWEEN ? AND ? AND is_range = 1 LIMIT 1').get(from, to) !== undefined;
  }

  /** Active ranges of one family in start order; overlapping ones are merged by the caller. */
  *ranges(family: Family): IterableIterator<RangeState> {
    const q = this.db.prepare(
      `SELECT start, end, max(direction IN ('inbound','both')) AS inbound, max(direction IN ('outbound','both')) AS outbound
       FROM decisions WHERE is_range = 1 AND family = @family AND ${ACTIVE} GROUP BY start, end ORDER BY start`,
    );
    for (const r of q.iterate({ family, now: this.clock() })) {
      const row = r as { start: Buffer; end: Buffer; inbound: number; outbound: number };
      yield { start: row.start, end: row.end, inbound: row.inbound === 1, outbound: row.outbound === 1 };
    }
  }

  allowRanges(family: Family): AllowRange[] {
    return this.db
      .prepare('SELECT start, end FROM allow_entries WHERE family = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY start')
      .all(family, this.clock()) as AllowRange[];
  }
}
