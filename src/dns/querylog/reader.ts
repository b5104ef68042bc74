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

/** The `limit` entries with the highest positive key, ties by name: a sort of the distinct keys, not of the rows. */
function topOf<V>(m: ReadonlyMap<string, V>, key: (v: V) => number, limit: number): [string, V][] {
  const out: [string, V][] = [];
  for (const e of m) if (key(e[1]) > 0) out.push(e);
  return out.sort((a, b) => key(b[1]) - key(a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, limit);
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
   * One pass over the window counted in Maps: a third of the time of SQLite's GROUP BYs, which sort every
   * row by name and again by client. A window that starts before the oldest row scans the table without
   * the time index (faster than a million index lookups).
   */
  top(f: TopFilter = {}, now = Date.now()): QueryTop {
    const until = f.until ?? now + 1;
    const span = this.db.prepare<[], { oldest: number | null; newest: number | null }>('SELECT min(t) AS oldest, max(t) AS newest FROM queries').get();
    const whole = span?.oldest == null || f.since === undefined || f.since <= span.oldest;
    const w = new Where();
    // `+t`: the same condition without the index, for a window that holds (nearly) every row.
    if (!(span?.newest != null && span.newest < until)) w.and((whole ? '+t' : 't') + ' < @until', { until });
    if (f.since !== undefined && !whole) w.and('t >= @since', { since: f.since });
    const limit = Math.max(1, Math.floor(f.limit ?? DEFAULT_TOP_LIMIT));
    // Per name: [queries, blocked, cached]; per client: [queries, blocked].
    const byName = new Map<string, [number, number, number]>();
    const byClient = new Map<string, [number, number]>();
    let queries = 0;
    let blockedTotal = 0;
    let cached = 0;
    const rows = this.db.prepare(`SELECT name, blocked_by IS NOT NULL, cached, client FROM queries ${w}`).raw().iterate(w.params) as Iterable<
      [string, number, number, string | null]
    >;
    for (const [name, b, c, client] of rows) {
      queries++;
      blockedTotal += b;
      cached += c;
      const n = byName.get(name);
      if (n) {
        n[0]++;
        n[1] += b;
        n[2] += c;
      } else byName.set(name, [1, b, c]);
      if (client !== null) {
        const k = byClient.get(client);
        if (k) {
          k[0]++;
          k[1] += b;
        } else byClient.set(client, [1, b]);
      }
    }
    const names = topOf(byName, (v) => v[0], limit).map(([name, v]) => ({ name, count: v[0] }));
    const blocked = topOf(byName, (v) => v[1], limit).map(([name, v]) => ({ name, count: v[1] }));
    // The device a client address was last seen as.
    const device = this.db.prepare<[string], { mac: string | null; clientName: string | null }>(
      'SELECT mac, client_name AS clientName FROM queries WHERE client = ? ORDER BY t DESC LIMIT 1',
    );
    const clients: ClientCount[] = topOf(byClient, (v) => v[0], limit).map(([client, v]) => {
      const d = device.get(client);
      return { client, mac: d?.mac ?? null, clientName: d?.clientName ?? null, count: v[0], blocked: v[1] };
    });
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
