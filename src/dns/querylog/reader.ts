import { setImmediate as yieldLoop, setTimeout as sleep } from 'node:timers/promises';
import { Where } from '../../store/index.js';
import { rcodeName, typeName } from './names.js';
import { isBusy, openQueryLogDb, type QueryLogDb } from './schema.js';
import type { ClientCount, QueryFilter, QueryRow, QueryTop, TopFilter } from './types.js';

export const QUERY_LOG_RETENTION = {
  /** Rows older than this go. */
  maxAgeMs: 7 * 86_400_000,
  /** And never more than this many rows (the oldest go first). */
  maxRows: 1_000_000,
} as const;

export const DEFAULT_LIST_LIMIT = 200;
export const DEFAULT_TOP_LIMIT = 10;

interface Row {
  id: number;
  t: number;
  client: string | null;
  mac: string | null;
  client_name: string | null;
  name: string;
  qtype: number;
  rcode: number;
  answer: string | null;
  blocked_by: string | null;
  blocked_what: string | null;
  monitored: string | null;
  upstream: string | null;
  latency_us: number;
  cached: number;
}

function toQueryRow(r: Row): QueryRow {
  return {
    id: r.id,
    time: r.t,
    client: r.client,
    mac: r.mac,
    clientName: r.client_name,
    name: r.name,
    qtype: r.qtype,
    type: typeName(r.qtype),
    rcode: r.rcode,
    rcodeName: rcodeName(r.rcode),
    answer: r.answer,
    blocked: r.blocked_by === null ? null : { by: r.blocked_by, what: r.blocked_what ?? '' },
    monitored: r.monitored,
    upstream: r.upstream,
    latencyUs: r.latency_us,
    cached: r.cached !== 0,
  };
}

/** A name as the log stores it: lower case, no trailing dot. */
export function normalizeDomain(d: string): string {
  return d.trim().toLowerCase().replace(/\.$/, '');
}

/** The `limit` rows with the highest key, ties by name; a sort of the distinct names, not of the rows. */
function topBy<T extends { name: string }>(rows: readonly T[], key: (r: T) => number, limit: number): T[] {
  return [...rows].sort((a, b) => key(b) - key(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).slice(0, limit);
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}

export interface PruneOptions {
  readonly now?: number;
  /** Rows per DELETE: each is one short write transaction, and the event loop runs between them. */
  readonly chunkRows?: number;
}

export interface PruneResult {
  readonly byAge: number;
  readonly byCap: number;
}

/**
 * The daemon's side of the query log: listings, top lists, and retention. Reads never wait for the workers
 * (WAL); retention deletes in small chunks so neither the daemon's event loop nor a worker's flush waits long.
 */
export class QueryLogReader {
  private constructor(readonly db: QueryLogDb) {}

  /** Opens (and creates or migrates) the file; the daemon does this before it starts the workers. */
  static open(file: string): QueryLogReader {
    // A delete that meets a worker's batch waits at most this long, then retries after yielding.
    return new QueryLogReader(openQueryLogDb(file, { busyTimeoutMs: 100 }));
  }

  close(): void {
    this.db.close();
  }

  /** Queries newest first. */
  query(f: QueryFilter = {}): QueryRow[] {
    const w = new Where();
    if (f.since !== undefined) w.and('t >= @since', { since: f.since });
    if (f.until !== undefined) w.and('t < @until', { until: f.until });
    if (f.blocked === true) w.and('blocked_by IS NOT NULL');
    if (f.blocked === false) w.and('blocked_by IS NULL');
    if (f.client !== undefined) {
      w.and('(client = @client OR mac = @clientLower OR client_name = @client COLLATE NOCASE)', { client: f.client.trim(), clientLower: f.client.trim().toLowerCase() });
    }
    if (f.domain !== undefined) {
      const d = normalizeDomain(f.domain);
      if (d !== '') w.and("(name = @domain OR name LIKE @under ESCAPE '\\')", { domain: d, under: '%.' + likeEscape(d) });
    }
    const limit = Math.max(1, Math.floor(f.limit ?? DEFAULT_LIST_LIMIT));
    const rows = this.db.prepare<Record<string, unknown>, Row>(`SELECT * FROM queries ${w} ORDER BY t DESC, id DESC LIMIT ${limit}`).all(w.params);
    return rows.map(toQueryRow);
  }

  /**
   * The most asked names, the most blocked names, the busiest clients, and the totals, over a window.
   * Two passes over the window (by name, by client), each a GROUP BY; the lists are cut in JS. A window
   * that starts before the oldest row scans the table without the time index (faster than a million lookups).
   */
  top(f: TopFilter = {}, now = Date.now()): QueryTop {
    const until = f.until ?? now + 1;
    const oldest = this.db.prepare<[], { t: number | null }>('SELECT min(t) AS t FROM queries').get()?.t ?? null;
    const whole = oldest === null || f.since === undefined || f.since <= oldest;
    const newest = this.db.prepare<[], { t: number | null }>('SELECT max(t) AS t FROM queries').get()?.t ?? null;
    const w = new Where();
    // `+t`: the same condition without the index, for a window that holds (nearly) every row.
    if (!(newest !== null && newest < until)) w.and((whole ? '+t' : 't') + ' < @until', { until });
    if (f.since !== undefined && !whole) w.and('t >= @since', { since: f.since });
    const limit = Math.max(1, Math.floor(f.limit ?? DEFAULT_TOP_LIMIT));
    const byName = this.db
      .prepare<Record<string, unknown>, { name: string; count: number; blocked: number; cached: number }>(
        `SELECT name, count(*) AS count, count(blocked_by) AS blocked, total(cached) AS cached FROM queries ${w} GROUP BY name`,
      )
      .all(w.params);
    let queries = 0;
    let blockedTotal = 0;
    let cached = 0;
    for (const r of byName) {
      queries += r.count;
      blockedTotal += r.blocked;
      cached += r.cached;
    }
    const names = topBy(byName, (r) => r.count, limit).map((r) => ({ name: r.name, count: r.count }));
    const blocked = topBy(
      byName.filter((r) => r.blocked > 0),
      (r) => r.blocked,
      limit,
    ).map((r) => ({ name: r.name, count: r.blocked }));
    const cw = new Where(w.size ? w.conditions : undefined, w.params).and('client IS NOT NULL');
    const clients = this.db
      .prepare<Record<string, unknown>, ClientCount>(
        `SELECT client, max(mac) AS mac, max(client_name) AS clientName, count(*) AS count, count(blocked_by) AS blocked
           FROM queries ${cw} GROUP BY client ORDER BY count DESC, client LIMIT @limit`,
      )
      .all({ ...cw.params, limit });
    const pct = (n: number) => (queries === 0 ? 0 : Math.round((n / queries) * 1000) / 10);
    return {
      since: f.since ?? null,
      until,
      totals: { queries, blocked: blockedTotal, cached, blockedPct: pct(blockedTotal), cachedPct: pct(cached) },
      names,
      blocked,
      clients,
    };
  }

  count(): number {
    return this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM queries').get()!.n;
  }

  /**
   * Deletes rows older than `retentionMs`, then the oldest beyond `maxRows`, a chunk per transaction with
   * the event loop free between chunks.
   */
  async prune(retentionMs: number, maxRows: number, o: PruneOptions = {}): Promise<PruneResult> {
    const now = o.now ?? Date.now();
    const chunk = Math.max(1, Math.floor(o.chunkRows ?? 1000));
    const old = this.db.prepare('DELETE FROM queries WHERE id IN (SELECT id FROM queries WHERE t < ? ORDER BY t LIMIT ?)');
    let byAge = 0;
    for (;;) {
      const n = await this.retryBusy(() => old.run(now - retentionMs, chunk).changes);
      byAge += n;
      if (n < chunk) break;
      await yieldLoop();
    }
    let byCap = 0;
    let excess = this.count() - Math.max(0, Math.floor(maxRows));
    const oldest = this.db.prepare('DELETE FROM queries WHERE id IN (SELECT id FROM queries ORDER BY t, id LIMIT ?)');
    while (excess > 0) {
      const n = await this.retryBusy(() => oldest.run(Math.min(chunk, excess)).changes);
      if (n === 0) break;
      byCap += n;
      excess -= n;
      await yieldLoop();
    }
    return { byAge, byCap };
  }

  /** A chunk that meets a worker's write lock waits a little off the event loop, then tries again. */
  private async retryBusy<T>(f: () => T, tries = 50): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return f();
      } catch (e) {
        if (!isBusy(e) || i >= tries) throw e;
        await sleep(20);
      }
    }
  }
}
