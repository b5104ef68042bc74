import type { Worker } from 'node:worker_threads';
import type { BlockDirection, ClientBlockCount } from './block-events.js';
import type { Db } from './db.js';
import type { WindowReply, WindowRequest } from './block-window-worker.js';
import { spawnThread } from './thread.js';

export interface TopRemote {
  readonly remoteIp: string;
  readonly direction: BlockDirection;
  readonly count: number;
  /** Distinct clients that tried it (outbound) or local addresses it tried (inbound). */
  readonly clients: number;
  readonly domain: string | null;
}

/** What only a pass over the window's block rows can tell: the most-hit remotes, and how many remotes the busiest clients tried. */
export interface WindowCounts {
  readonly topRemotes: readonly TopRemote[];
  /** Outbound: client address → distinct remotes it tried in the window, for the `top` clients with most attempts. */
  readonly clientRemotes: ReadonlyMap<string, number>;
  /** When the rows were read (epoch ms). */
  readonly asOf: number;
}

type Counted = Omit<WindowCounts, 'asOf'>;

const HOUR_MS = 3600_000;

/** Outbound attempts per client since `since` (whole hours) from the hourly rollup, most first. */
export function outboundByClient(db: Db, since: number, limit: number): ClientBlockCount[] {
  return db
    .prepare(
      `SELECT client_ip AS clientIp, max(client_name) AS clientName, sum(attempts) AS count FROM block_hourly
       WHERE hour >= ? AND direction = 'outbound' GROUP BY client_ip ORDER BY count DESC, client_ip LIMIT ?`,
    )
    .all(Math.floor(since / HOUR_MS) * HOUR_MS, Math.max(1, Math.floor(limit))) as ClientBlockCount[];
}

/**
 * The pass itself, on the worker's connection.
 * Only the ranking reads every block row, and only from the remote index that holds every column it needs (no
 * table reads, no sort of a million rows); the distinct counts are then taken for the winners alone.
 */
export function countWindow(db: Db, since: number, top: number): Counted {
  const ranked = db
    .prepare(
      `SELECT remote_ip, direction, sum(count) AS n FROM block_events INDEXED BY block_events_by_remote
       WHERE last_seen >= ? GROUP BY remote_ip, direction ORDER BY n DESC, remote_ip LIMIT ?`,
    )
    .raw()
    .all(since, top) as [string, BlockDirection, number][];
  const remoteDetail = db.prepare(
    `SELECT count(DISTINCT client_ip) AS clients, max(domain) AS domain FROM block_events INDEXED BY block_events_by_remote
     WHERE remote_ip = ? AND direction = ? AND last_seen >= ?`,
  );
  const topRemotes = ranked.map(([remoteIp, direction, count]) => {
    const d = remoteDetail.get(remoteIp, direction, since) as { clients: number; domain: string | null };
    return { remoteIp, direction, count, clients: d.clients, domain: d.domain };
  });
  const busiest = outboundByClient(db, since, top).map((c) => c.clientIp);
  const distinct = db.prepare(
    `SELECT count(DISTINCT remote_ip) FROM block_events INDEXED BY block_events_key WHERE direction = 'outbound' AND client_ip = ? AND last_seen >= ?`,
  );
  const clientRemotes = new Map(busiest.map((c) => [c, distinct.pluck().get(c, since) as number]));
  return { topRemotes, clientRemotes };
}

/** Counts younger than this are served as they are; older ones are served and counted anew behind them. */
const MAX_AGE_MS = 30_000;

/**
 * The window counts, read off the daemon's thread. With a million block rows in a day (a scan storm) the pass
 * takes a second or more; on the main thread that stalls the kernel writer and every API. A worker thread with
 * its own connection reads instead, and the last counts are kept: a page gets them at once and, when they are
 * older than MAX_AGE_MS, starts a recount for the next one (`fresh` waits for a new count instead).
 */
export class BlockWindow {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(r: Counted): void; reject(e: Error): void }>();
  private readonly cache = new Map<string, WindowCounts>();
  private readonly running = new Map<string, Promise<WindowCounts>>();
  private closed = false;

  constructor(private readonly db: Db) {}

  /** Counts for the window from `since` to `now` (default: now), `top` remotes. */
  async get(since: number, top: number, o: { fresh?: boolean; now?: number } = {}): Promise<WindowCounts> {
    const now = o.now ?? Date.now();
    // A window is "the last 24 h" asked a moment later each time: keyed by its length to the minute.
    const key = `${Math.round((now - since) / 60_000)}/${top}`;
    const cached = this.cache.get(key);
    if (cached && !o.fresh) {
      if (now - cached.asOf >= MAX_AGE_MS) this.recount(key, since, now, top).catch(() => undefined);
      return cached;
    }
    // A count already running may have read the rows before the ones this caller wants counted.
    if (o.fresh) await this.running.get(key)?.catch(() => undefined);
    return this.recount(key, since, now, top);
  }

  /** One count at a time per window: callers during a count share it. */
  private recount(key: string, since: number, asOf: number, top: number): Promise<WindowCounts> {
    const busy = this.running.get(key);
    if (busy) return busy;
    const p = this.count(since, top)
      .then((c) => {
        const r = { ...c, asOf };
        this.cache.set(key, r);
        return r;
      })
      .finally(() => this.running.delete(key));
    this.running.set(key, p);
    return p;
  }

  private count(since: number, top: number): Promise<Counted> {
    if (this.closed) return Promise.reject(new Error('block window counts are closed'));
    const w = this.thread();
    const id = this.nextId++;
    return new Promise<Counted>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, since, top } satisfies WindowRequest);
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = spawnThread(import.meta.url, 'block-window-worker', { path: this.db.name });
    // Never what keeps the daemon (or a test) alive.
    w.unref();
    w.on('message', (m: WindowReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve({ topRemotes: m.topRemotes, clientRemotes: new Map(m.clientRemotes) });
      else p.reject(new Error(`counting block rows failed: ${m.error}`));
    });
    const fail = (e: Error) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.worker = undefined;
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`block window worker exited (${code})`)));
    this.worker = w;
    return w;
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}
