import { isBusy, openQueryLogDb, type QueryLogDb } from './schema.js';
import type { QueryLogMode, QueryLogWriterStats, QueryRecord } from './types.js';

export interface QueryLogWriterOptions {
  /** Records held at most; when full the oldest is dropped (and counted). */
  readonly maxBuffered?: number;
  /** A flush every this many ms. */
  readonly flushIntervalMs?: number;
  /** Rows per transaction; a buffer holding this many is flushed without waiting for the timer. */
  readonly batchRows?: number;
  /** How long one flush may wait for another worker's write lock before it tries again later. */
  readonly busyTimeoutMs?: number;
  /** After a busy or failed flush, the next try comes this much later. */
  readonly retryMs?: number;
  /** Told about a flush that failed for a reason other than a busy lock (the rows stay buffered). */
  readonly onError?: (e: Error) => void;
}

const DEFAULTS = { maxBuffered: 100_000, flushIntervalMs: 1000, batchRows: 5000, busyTimeoutMs: 20, retryMs: 100 } as const;

const INSERT = `INSERT INTO queries (t, client, mac, client_name, name, qtype, rcode, answer, blocked_by, blocked_what, monitored, upstream, latency_us, cached)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * A resolver worker's query log: push() is the answer path's only cost (a reference stored in a ring, no
 * copy, no I/O); a timer writes the ring out in batched transactions. The ring is bounded: a disk that
 * cannot keep up, or another worker holding the lock too long, costs the oldest records (counted in
 * stats().dropped), never memory or answer latency.
 */
export class QueryLogWriter {
  private readonly ring: (QueryRecord | undefined)[];
  private head = 0;
  private size = 0;
  private readonly o: Required<Omit<QueryLogWriterOptions, 'onError'>> & Pick<QueryLogWriterOptions, 'onError'>;
  private readonly db: QueryLogDb | undefined;
  private readonly writeBatch: ((n: number) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private closed = false;
  private pushed = 0;
  private written = 0;
  private dropped = 0;
  private busy = 0;
  private errors = 0;
  private lastError: string | null = null;

  constructor(file: string, readonly mode: QueryLogMode, opts: QueryLogWriterOptions = {}) {
    this.o = { ...DEFAULTS, ...opts };
    if (!(this.o.maxBuffered >= 1 && this.o.batchRows >= 1)) throw new RangeError('query log: maxBuffered and batchRows must be at least 1');
    if (mode === 'off') {
      this.ring = [];
      return;
    }
    this.ring = new Array<QueryRecord | undefined>(this.o.maxBuffered).fill(undefined);
    this.db = openQueryLogDb(file, { busyTimeoutMs: this.o.busyTimeoutMs });
    const insert = this.db.prepare(INSERT);
    const anonymous = mode === 'anonymous';
    // IMMEDIATE takes the write lock up front, so a busy lock shows at BEGIN, before any row is written.
    this.writeBatch = this.db
      .transaction((n: number) => {
        const ring = this.ring;
        const cap = ring.length;
        for (let i = 0, at = this.head; i < n; i++, at = at + 1 === cap ? 0 : at + 1) {
          const r = ring[at]!;
          insert.run(
            r.t,
            anonymous ? null : r.client,
            anonymous ? null : (r.mac ?? null),
            anonymous ? null : (r.clientName ?? null),
            r.name,
            r.qtype,
            r.rcode,
            r.answer ?? null,
            r.blocked?.by ?? null,
            r.blocked?.what ?? null,
            r.monitored ?? null,
            r.upstream ?? null,
            Math.round(r.latencyUs),
            r.cached ? 1 : 0,
          );
        }
      })
      .immediate;
    this.timer = setInterval(() => this.flush(), this.o.flushIntervalMs);
    this.timer.unref();
  }

  /** Records one answered query. O(1); the record must not be changed afterwards. */
  push(r: QueryRecord): void {
    if (this.db === undefined || this.closed) return;
    this.pushed++;
    const cap = this.ring.length;
    if (this.size === cap) {
      // Full: the oldest makes room.
      this.ring[this.head] = r;
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
      this.dropped++;
    } else {
      const at = this.head + this.size;
      this.ring[at >= cap ? at - cap : at] = r;
      this.size++;
    }
    if (this.size >= this.o.batchRows && this.soon === undefined) {
      // Not now: this call is on the answer path. Right after it.
      this.soon = setImmediate(() => {
        this.soon = undefined;
        this.flush();
      });
    }
  }

  /**
   * Writes what the ring holds, batchRows per transaction, yielding between batches so the answer loop
   * runs. Returns the rows written by this call. A busy lock or a failure keeps the rows and retries later.
   */
  flush(): number {
    if (this.writeBatch === undefined || this.size === 0) return 0;
    const n = Math.min(this.size, this.o.batchRows);
    try {
      this.writeBatch(n);
    } catch (e) {
      if (isBusy(e)) this.busy++;
      else {
        this.errors++;
        this.lastError = (e as Error).message;
        this.o.onError?.(e as Error);
      }
      this.later(this.o.retryMs);
      return 0;
    }
    const cap = this.ring.length;
    for (let i = 0; i < n; i++) {
      this.ring[this.head] = undefined;
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
    }
    this.size -= n;
    this.written += n;
    if (this.size > 0 && !this.closed) this.later(0);
    return n;
  }

  private later(ms: number): void {
    if (this.closed || this.soon !== undefined) return;
    const run = () => {
      this.soon = undefined;
      this.flush();
    };
    this.soon = ms === 0 ? setImmediate(run) : setTimeout(run, ms);
    if (ms !== 0) (this.soon as NodeJS.Timeout).unref();
  }

  stats(): QueryLogWriterStats {
    return {
      mode: this.mode,
      pushed: this.pushed,
      written: this.written,
      dropped: this.dropped,
      buffered: this.size,
      busy: this.busy,
      errors: this.errors,
      lastError: this.lastError,
    };
  }

  /**
   * Writes everything still buffered and closes the file. Waits on a busy lock as long as
   * `busyWaitMs` allows (a worker stopping has no answers left to delay); what is left after that is dropped.
   */
  close(busyWaitMs = 5000): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon !== undefined) {
      clearTimeout(this.soon as NodeJS.Timeout);
      clearImmediate(this.soon as NodeJS.Immediate);
      this.soon = undefined;
    }
    if (this.db === undefined) return;
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyWaitMs))}`);
    try {
      while (this.size > 0) {
        const before = this.size;
        this.flush();
        if (this.size === before) break;
      }
    } finally {
      this.dropped += this.size;
      this.size = 0;
      this.ring.fill(undefined);
      this.db.close();
    }
  }
}
