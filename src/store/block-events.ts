import { BlockWindow, outboundByClient, type TopRemote } from './block-window.js';
import type { Db } from './db.js';
import { Where } from './where.js';

export type BlockDirection = 'inbound' | 'outbound';
export type BlockMode = 'blocked' | 'monitored';

export interface DecisionRef {
  readonly id: number;
  readonly origin: string;
  readonly scenario: string;
  readonly reason: string;
}

/** What identifies one row of the report: who, towards whom, how, and whether it was really blocked. */
export interface BlockKey {
  readonly direction: BlockDirection;
  readonly clientIp: string;
  readonly clientMac: string | null;
  readonly clientName: string | null;
  readonly remoteIp: string;
  readonly protocol: string;
  readonly port: number;
  readonly mode: BlockMode;
}

export interface BlockEvent extends BlockKey {
  readonly id: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Packets that hit the rule: one per connection attempt for a TCP reset, more for retries of drops. */
  readonly count: number;
  readonly bytes: number;
  readonly decisions: readonly DecisionRef[];
  readonly domain: string | null;
}

/** One collection's news about a key: counter deltas since the last collection. */
export interface BlockHit extends BlockKey {
  readonly seenAt: number;
  readonly packets: number;
  readonly bytes: number;
  readonly decisions: readonly DecisionRef[];
  /** The name the client looked up that resolved to the remote (outbound, when the DNS filter knows it). */
  readonly domain?: string;
}

/** A domain LAN clients looked up that resolved to an address, as the block events recorded it. */
export interface LookedUpAs {
  readonly domain: string;
  /** Client addresses, most recent first. */
  readonly clients: readonly string[];
  readonly lastSeen: number;
}

export interface BlockFilter {
  readonly direction?: BlockDirection;
  readonly since?: number;
  readonly client?: string;
  readonly remote?: string;
  readonly limit?: number;
  /** Keyset paging: only rows after this one in the report's order (last seen, then id, both descending). */
  readonly before?: { readonly lastSeen: number; readonly id: number };
}

/** Blocks per hour and direction, and who and what was hit most: the dashboard's overview. */
export interface BlockSummary {
  readonly since: number;
  /** Hour start (epoch ms), direction, attempts counted in that hour (whole hours: the first may start before `since`). */
  readonly hourly: readonly { readonly hour: number; readonly direction: BlockDirection; readonly count: number }[];
  /** `remotes`: distinct remotes the client tried, as of `remotesAsOf` (null for a client not among the busiest then). */
  readonly topClients: readonly { readonly clientIp: string; readonly clientName: string | null; readonly count: number; readonly remotes: number | null }[];
  readonly topRemotes: readonly TopRemote[];
  /** When the remotes were counted: a pass over the window's rows, made off the daemon's thread and kept a while. */
  readonly remotesAsOf: number;
}

/** Outbound attempts of one client in a window, from the hourly rollup. */
export interface ClientBlockCount {
  readonly clientIp: string;
  readonly clientName: string | null;
  readonly count: number;
}

const HOUR_MS = 3600_000;

interface Row {
  id: number;
  direction: string;
  client_ip: string;
  client_mac: string | null;
  client_name: string | null;
  remote_ip: string;
  protocol: string;
  port: number;
  mode: string;
  first_seen: number;
  last_seen: number;
  count: number;
  bytes: number;
  reasons: string;
  domain: string | null;
}

function toEvent(r: Row): BlockEvent {
  return {
    id: r.id,
    direction: r.direction as BlockDirection,
    clientIp: r.client_ip,
    clientMac: r.client_mac,
    clientName: r.client_name,
    remoteIp: r.remote_ip,
    protocol: r.protocol,
    port: r.port,
    mode: r.mode as BlockMode,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    count: r.count,
    bytes: r.bytes,
    decisions: JSON.parse(r.reasons) as DecisionRef[],
    domain: r.domain,
  };
}

/** Block events: one row per client/remote/protocol/port/mode, counting attempts over time. */
export class BlockEventRepo {
  constructor(private readonly db: Db) {}

  record(hits: readonly BlockHit[]): void {
    if (hits.length === 0) return;
    const upsert = this.db.prepare(
      `INSERT INTO block_events (direction, client_ip, client_mac, client_name, remote_ip, protocol, port, mode,
                                 first_seen, last_seen, count, bytes, decision_ids, reasons, domain)
       VALUES (@direction, @clientIp, @clientMac, @clientName, @remoteIp, @protocol, @port, @mode,
               @seenAt, @seenAt, @packets, @bytes, @ids, @reasons, @domain)
       ON CONFLICT(direction, client_ip, remote_ip, protocol, port, mode) DO UPDATE SET
         last_seen = max(last_seen, excluded.last_seen),
         count = count + excluded.count,
         bytes = bytes + excluded.bytes,
         client_mac = coalesce(excluded.client_mac, client_mac),
         client_name = coalesce(excluded.client_name, client_name),
         domain = coalesce(excluded.domain, domain),
         decision_ids = CASE WHEN excluded.decision_ids = '[]' THEN decision_ids ELSE excluded.decision_ids END,
         reasons = CASE WHEN excluded.reasons = '[]' THEN reasons ELSE excluded.reasons END`,
    );
    const hourly = new Map<string, { hour: number; direction: string; mode: string; clientIp: string; clientName: string | null; attempts: number; bytes: number }>();
    for (const h of hits) {
      const hour = Math.floor(h.seenAt / HOUR_MS) * HOUR_MS;
      const k = `${hour}|${h.direction}|${h.mode}|${h.clientIp}`;
      const r = hourly.get(k);
      if (r) {
        r.attempts += h.packets;
        r.bytes += h.bytes;
        r.clientName ??= h.clientName;
      } else hourly.set(k, { hour, direction: h.direction, mode: h.mode, clientIp: h.clientIp, clientName: h.clientName, attempts: h.packets, bytes: h.bytes });
    }
    const addHour = this.db.prepare(
      `INSERT INTO block_hourly (hour, direction, mode, client_ip, client_name, attempts, bytes)
       VALUES (@hour, @direction, @mode, @clientIp, @clientName, @attempts, @bytes)
       ON CONFLICT(hour, direction, mode, client_ip) DO UPDATE SET
         attempts = attempts + excluded.attempts,
         bytes = bytes + excluded.bytes,
         client_name = coalesce(excluded.client_name, client_name)`,
    );
    this.db.transaction(() => {
      for (const h of hits) {
        upsert.run({
          ...h,
          ids: JSON.stringify(h.decisions.map((d) => d.id)),
          reasons: JSON.stringify(h.decisions),
          domain: h.domain ?? null,
        });
      }
      for (const r of hourly.values()) addHour.run(r);
    })();
  }

  list(f: BlockFilter = {}): BlockEvent[] {
    const where = new Where()
      // Unary + keeps SQLite off the unique key's direction prefix: it would sort every row of that
      // direction (seconds at a million) instead of walking last_seen and stopping at the limit.
      .andIf('direction', f.direction || undefined, '+direction = @direction')
      .andIf('since', f.since, 'last_seen >= @since')
      .andIf('client', f.client || undefined, '(client_ip = @client OR client_mac = lower(@client) OR client_name = @client)')
      .andIf('remote', f.remote || undefined, 'remote_ip = @remote')
      .andIf('beforeLast', f.before?.lastSeen, '(last_seen < @beforeLast OR (last_seen = @beforeLast AND id < @beforeId))');
    if (f.before) where.params.beforeId = f.before.id;
    const sql = `SELECT * FROM block_events ${where} ORDER BY last_seen DESC, id DESC LIMIT ${Math.min(
      Math.max(1, Math.floor(f.limit ?? 1000)),
      100000,
    )}`;
    return (this.db.prepare(sql).all(where.params) as Row[]).map(toEvent);
  }

  /**
   * The overview's figures since `since` (epoch ms): attempts per hour and the busiest clients from the hourly
   * rollup (a few thousand rows, whatever the day held), the most-hit remotes and each client's distinct remotes
   * from the window counts (block-window.ts: off the daemon's thread; `fresh` waits for a new count).
   */
  async summary(since: number, o: { top?: number; fresh?: boolean; now?: number } = {}): Promise<BlockSummary> {
    const top = o.top ?? 10;
    const now = o.now ?? Date.now();
    const from = Math.floor(since / HOUR_MS) * HOUR_MS;
    const hourly = this.db
      .prepare(`SELECT hour, direction, sum(attempts) AS count FROM block_hourly WHERE hour >= ? GROUP BY hour, direction ORDER BY hour, direction`)
      .all(from) as BlockSummary['hourly'][number][];
    const window = await this.windowCounts().get(since, top, { fresh: o.fresh ?? false, now });
    return {
      since,
      hourly,
      topClients: this.clientCounts(since, top).map((c) => ({ ...c, remotes: window.clientRemotes.get(c.clientIp) ?? null })),
      topRemotes: window.topRemotes,
      remotesAsOf: window.asOf,
    };
  }

  /** Outbound attempts per client since `since` (whole hours), most first: every client, or the `limit` busiest. */
  clientCounts(since: number, limit = 100_000): ClientBlockCount[] {
    return outboundByClient(this.db, since, limit);
  }

  private window: BlockWindow | undefined;
  private windowCounts(): BlockWindow {
    return (this.window ??= new BlockWindow(this.db));
  }

  /** Ends the window counts' worker thread, if one was started. */
  async close(): Promise<void> {
    await this.window?.close();
    this.window = undefined;
  }

  /** The domains recorded for connections to this remote address, most recently seen first. */
  domainsFor(remote: string, limit = 20): LookedUpAs[] {
    const rows = this.db
      .prepare(
        `SELECT domain, client_ip AS client, max(last_seen) AS seen FROM block_events
         WHERE remote_ip = ? AND domain IS NOT NULL GROUP BY domain, client_ip ORDER BY seen DESC`,
      )
      .all(remote) as { domain: string; client: string; seen: number }[];
    const out = new Map<string, { domain: string; clients: string[]; lastSeen: number }>();
    for (const r of rows) {
      let e = out.get(r.domain);
      if (!e) {
        if (out.size >= limit) continue;
        e = { domain: r.domain, clients: [], lastSeen: r.seen };
        out.set(r.domain, e);
      }
      e.clients.push(r.client);
    }
    return [...out.values()];
  }

  purge(olderThan: number): number {
    // Whole hours only: the hour that straddles the cut stays until it has passed entirely.
    this.db.prepare('DELETE FROM block_hourly WHERE hour < ?').run(Math.floor(olderThan / HOUR_MS) * HOUR_MS);
    return this.db.prepare('DELETE FROM block_events WHERE last_seen < ?').run(olderThan).changes;
  }

  loadBaseline(): Map<string, { packets: number; bytes: number }> {
    const m = new Map<string, { packets: number; bytes: number }>();
    for (const r of this.db.prepare('SELECT key, packets, bytes FROM hit_baseline').iterate()) {
      const row = r as { key: string; packets: number; bytes: number };
      m.set(row.key, { packets: row.packets, bytes: row.bytes });
    }
    return m;
  }

  /** Kernel counters already counted, so a daemon restart neither loses nor double-counts hits. */
  saveBaseline(changed: ReadonlyMap<string, { packets: number; bytes: number }>, gone: readonly string[]): void {
    const put = this.db.prepare('INSERT INTO hit_baseline (key, packets, bytes) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET packets = excluded.packets, bytes = excluded.bytes');
    const del = this.db.prepare('DELETE FROM hit_baseline WHERE key = ?');
    this.db.transaction(() => {
      for (const [k, v] of changed) put.run(k, v.packets, v.bytes);
      for (const k of gone) del.run(k);
    })();
  }
}
