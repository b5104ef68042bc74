import type { Worker } from 'node:worker_threads';
import type { BlockDirection } from './block-events.js';
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

/** What only a pass over the window's block rows can tell: the most-hit remotes, and how many remotes each client tried. */
export interface WindowCounts {
  readonly topRemotes: readonly TopRemote[];
  /** Outbound: client address → distinct remotes it tried in the window. */
  readonly clientRemotes: ReadonlyMap<string, number>;
  /** When the rows were read (epoch ms). */
  readonly asOf: number;
  /** How long the pass took. */
  readonly ms: number;
}

/** The pass itself, on whichever connection runs it (the worker's, or the caller's for an in-memory database). */
export function countWindow(db: Db, since: number, top: number): Omit<WindowCounts, 'asOf' | 'ms'> {
  const topRemotes = (
    db
      .prepare(
        `SELECT remote_ip AS remoteIp, direction, sum(count) AS count, count(DISTINCT client_ip) AS clients, max(domain) AS domain
         FROM block_events WHERE last_seen >= ? GROUP BY direction, remote_ip ORDER BY count DESC, remote_ip LIMIT ?`,
      )
      .all(since, top) as TopRemote[]
  ).map((r) => ({ ...r }));
  const clientRemotes = new Map(
    db
      .prepare(`SELECT client_ip, count(DISTINCT remote_ip) FROM block_events WHERE +direction = 'outbound' AND last_seen >= ? GROUP BY client_ip`)
      .raw()
      .all(since) as [string, number][],
  );
  return { topRemotes, clientRemotes };
}

export interface BlockWindowOptions {
  /** Counts younger than this are served as they are; older ones are served and recounted behind (default 30 s). */
  readonly maxAgeMs?: number;
  readonly clock?: () => number;
}

/**
 * The window counts, read off the daemon's thread. With a million block rows in a day (a scan storm) the pass
 * takes a second or more; on the main thread that stalls the kernel writer and every API. A worker thread with
 * its own connection reads instead, and the last counts are kept: a page gets them at once and, when they are
 * older than maxAgeMs, starts a recount for the next one (`fresh` waits for a new count instead).
 */
export class BlockWindow {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(r: WindowCounts): void; reject(e: Error): void }>();
  private readonly cache = new Map<string, WindowCounts>();
  private readonly running = new Map<string, Promise<WindowCounts>>();
  private readonly maxAgeMs: number;
  private readonly clock: () => number;
  private closed = false;

  constructor(private readonly db: Db, opts: BlockWindowOptions = {}) {
    this.maxAgeMs = opts.maxAgeMs ?? 30_000;
    this.clock = opts.clock ?? Date.now;
  }

  /** Counts for the window from `since` to `now` (default the clock), `top` remotes. */
  async get(since: number, top: number, o: { fresh?: boolean; now?: number } = {}): Promise<WindowCounts> {
    const now = o.now ?? this.clock();
    // A window is "the last 24 h" asked a moment later each time: keyed by its length to the minute.
    const key = `${Math.round((now - since) / 60_000)}/${top}`;
    const cached = this.cache.get(key);
    if (cached && !o.fresh) {
      if (now - cached.asOf >= this.maxAgeMs) this.recount(key, since, now, top).catch(() => undefined);
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

  private count(since: number, top: number): Promise<Omit<WindowCounts, 'asOf'>> {
    if (this.closed) return Promise.reject(new Error('block window counts are closed'));
    // An in-memory database has no file a second connection could open.
    if (this.db.memory) {
      const t0 = performance.now();
      return Promise.resolve({ ...countWindow(this.db, since, top), ms: performance.now() - t0 });
    }
    const w = this.thread();
    const id = this.nextId++;
    return new Promise<WindowCounts>((resolve, reject) => {
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
      if (m.ok) p.resolve({ topRemotes: m.topRemotes, clientRemotes: new Map(m.clientRemotes), asOf: 0, ms: m.ms });
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
