import type { Db } from '../store/index.js';
import type { Family } from '../net/ip.js';
import { ACTIVE_DECISION } from './sql.js';

/** One active decision that blocks outbound traffic (direction outbound or both), as the DNS filter's IP index reads it. */
export interface OutboundRow {
  readonly id: number;
  readonly value: string;
  readonly family: Family;
  readonly prefix: number;
  /** First address, big-endian (4 or 16 bytes). */
  readonly start: Buffer;
  readonly origin: string;
  readonly scenario: string;
  readonly reason: string;
  /** Epoch ms; null = never. */
  readonly expiresAt: number | null;
}

const COLS = 'id, value, family, prefix, start, origin, scenario, reason, expires_at';
const OUTBOUND = `direction IN ('outbound','both') AND ${ACTIVE_DECISION}`;
/**
 * Of several decisions on one value, the one that lasts longest (to the second, as the index keeps expiry),
 * then the newest: the same choice the IP index makes when it is built (src/dns/ipindex `wins`).
 */
const BEST_FIRST = 'ORDER BY (expires_at IS NULL) DESC, (expires_at + 999) / 1000 DESC, id DESC';

type RawRow = [number, string, number, number, Buffer, string, string, string, number | null];

function toRow(r: RawRow): OutboundRow {
  return { id: r[0], value: r[1], family: r[2] as Family, prefix: r[3], start: r[4], origin: r[5], scenario: r[6], reason: r[7], expiresAt: r[8] };
}

/**
 * Read-only queries for the decisions that block outbound traffic: what the firewall puts into its `out`
 * and `both` sets, row by row with origin and scenario (the firewall's EnforcementView aggregates them
 * away). Lives here so that only the decisions module knows the decisions table.
 */
export class OutboundView {
  constructor(private readonly db: Db, private readonly clock: () => number = Date.now) {}

  maxId(): number {
    return (this.db.prepare('SELECT coalesce(max(id), 0) AS m FROM decisions').get() as { m: number }).m;
  }

  /** Active outbound decisions with afterId < id <= upTo, in id order, at most `limit`: a big store is read in steps. */
  page(afterId: number, upTo: number, limit: number): OutboundRow[] {
    const rows = this.db
      .prepare(`SELECT ${COLS} FROM decisions WHERE id > @afterId AND id <= @upTo AND ${OUTBOUND} ORDER BY id LIMIT @limit`)
      .raw(true)
      .all({ afterId, upTo, limit, now: this.clock() }) as RawRow[];
    return rows.map(toRow);
  }

  /** Active outbound decisions inserted with ids in [from, to]. */
  inserted(from: number, to: number): OutboundRow[] {
    if (from > to) return [];
    const rows = this.db
      .prepare(`SELECT ${COLS} FROM decisions WHERE id BETWEEN @from AND @to AND ${OUTBOUND} ORDER BY id`)
      .raw(true)
      .all({ from, to, now: this.clock() }) as RawRow[];
    return rows.map(toRow);
  }

  /** For each value, the active outbound decision that names it now; values without one are absent. */
  best(values: Iterable<string>): Map<string, OutboundRow> {
    const q = this.db.prepare(`SELECT ${COLS} FROM decisions WHERE value = @value AND ${OUTBOUND} ${BEST_FIRST} LIMIT 1`).raw(true);
    const now = this.clock();
    const out = new Map<string, OutboundRow>();
    for (const value of values) {
      const r = q.get({ value, now }) as RawRow | undefined;
      if (r) out.set(value, toRow(r));
    }
    return out;
  }

  /** Active allow entries (they win over every decision, in both directions). */
  allow(): { value: string; expiresAt: number | null }[] {
    return this.db
      .prepare('SELECT value, expires_at AS expiresAt FROM allow_entries WHERE expires_at IS NULL OR expires_at > ? ORDER BY id')
      .all(this.clock()) as { value: string; expiresAt: number | null }[];
  }
}
