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
  /** Hour start (epoch ms, by last seen), direction, attempts. */
  readonly hourly: readonly { readonly hour: number; readonly direction: BlockDirection; readonly count: number }[];
  readonly topClients: readonly { readonly clientIp: string; readonly clientName: string | null; readonly count: number; readonly remotes: number }[];
  readonly topRemotes: readonly { readonly remoteIp: string; readonly direction: BlockDirection; readonly count: number; readonly clients: number; readonly domain: string | null }[];
  /** Set when the window held more rows than one summary reads: the figures cover rows seen since `from` only. */
  readonly partial?: { readonly rows: number; readonly from: number };
}

/**
 * Rows one summary reads at most. The store is read on the daemon's one thread: a window of a million rows
 * (an inbound scan storm) would stall the enforcer and every API for seconds; the newest 100,000 take ~0.5 s.
 */
export const SUMMARY_MAX_ROWS = 100_000;

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
    this.db.transaction(() => {
      for (const h of hits) {
        upsert.run({
          ...h,
          ids: JSON.stringify(h.decisions.map((d) => d.id)),
          reasons: JSON.stringify(h.decisions),
          domain: h.domain ?? null,
        });
      }
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
   * The overview's figures since `since` (epoch ms), in one pass over the window's rows through the last_seen
   * index (forced: on its own SQLite picks the unique key's direction prefix and sorts hundreds of thousands
   * of rows), so the cost follows the window's rows, not the whole report's.
   */
  summary(since: number, top = 10, maxRows = SUMMARY_MAX_ROWS): BlockSummary {
    const rows = this.db
      .prepare(
        `SELECT last_seen, direction, client_ip, client_name, remote_ip, count, domain
         FROM block_events INDEXED BY block_events_last WHERE last_seen >= ? ORDER BY last_seen DESC LIMIT ?`,
      )
      .raw()
      .iterate(since, maxRows) as IterableIterator<[number, BlockDirection, string, string | null, string, number, string | null]>;
    let read = 0;
    let oldest = Infinity;
    const hourly = new Map<string, { hour: number; direction: BlockDirection; count: number }>();
    const clients = new Map<string, { clientIp: string; clientName: string | null; count: number; remoteSet: Set<string> }>();
    const remotes = new Map<string, { remoteIp: string; direction: BlockDirection; count: number; clientSet: Set<string>; domain: string | null }>();
    for (const [seen, direction, clientIp, clientName, remoteIp, count, domain] of rows) {
      read++;
      oldest = seen;
      const hour = Math.floor(seen / 3600_000) * 3600_000;
      const hk = `${direction}:${hour}`;
      const h = hourly.get(hk);
      if (h) h.count += count;
      else hourly.set(hk, { hour, direction, count });
      if (direction === 'outbound') {
        let c = clients.get(clientIp);
        if (!c) clients.set(clientIp, (c = { clientIp, clientName, count: 0, remoteSet: new Set() }));
        c.count += count;
        c.clientName ??= clientName;
        c.remoteSet.add(remoteIp);
      }
      const rk = `${direction}|${remoteIp}`;
      let r = remotes.get(rk);
      if (!r) remotes.set(rk, (r = { remoteIp, direction, count: 0, clientSet: new Set(), domain }));
      r.count += count;
      r.domain ??= domain;
      r.clientSet.add(clientIp);
    }
    const byCount = (a: { count: number }, b: { count: number }) => b.count - a.count;
    return {
      since,
      hourly: [...hourly.values()].sort((a, b) => a.hour - b.hour || a.direction.localeCompare(b.direction)),
      topClients: [...clients.values()].sort(byCount).slice(0, top).map((c) => ({ clientIp: c.clientIp, clientName: c.clientName, count: c.count, remotes: c.remoteSet.size })),
      topRemotes: [...remotes.values()].sort(byCount).slice(0, top).map((r) => ({ remoteIp: r.remoteIp, direction: r.direction, count: r.count, clients: r.clientSet.size, domain: r.domain })),
      ...(read >= maxRows ? { partial: { rows: read, from: oldest } } : {}),
    };
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
