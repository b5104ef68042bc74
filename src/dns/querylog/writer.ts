import type { Worker } from 'node:worker_threads';
import { spawnThread } from '../../store/index.js';
import { openQueryLogDb } from './schema.js';
import type { QueryLogMode, QueryLogWriterStats, QueryRecord } from './types.js';
import type { WriterThreadReply, WriterThreadRequest } from './writer-thread.js';

export interface QueryLogWriterOptions {
  /** Records held at most while waiting to be written; when full the oldest is dropped (and counted). */
  readonly maxBuffered?: number;
  /** A flush every this many ms. */
  readonly flushIntervalMs?: number;
  /** Rows per batch (one transaction); a buffer holding this many is flushed without waiting for the timer. */
  readonly batchRows?: number;
  /** One wait of the writer thread for another worker's write lock; it reports `busy` and waits again. */
  readonly busyTimeoutMs?: number;
  /** Told about a batch that could not be written for a reason other than a busy lock (its rows are lost). */
  readonly onError?: (e: Error) => void;
}

// 1000 rows a batch: handing a batch to the thread copies it (structured clone, ~1 µs a record) on the answer
// loop, so a batch of 5000 was a stall of several ms; 1000 keeps it around one, and a transaction of 1000
// rows costs SQLite little more per row than one of 5000.
const DEFAULTS = { maxBuffered: 100_000, flushIntervalMs: 1000, batchRows: 1000, busyTimeoutMs: 250 } as const;

/**
 * A resolver worker's query log. push() is the answer path's only cost: a reference stored in a ring, no
 * copy, no I/O. A timer hands the ring's records in batches to a thread of this process, which owns the
 * SQLite connection and writes each batch in one transaction; inserting costs several µs a row, and a
 * wait for another worker's lock any time, so neither may run on the answer loop.
 *
 * Bounded: one batch travels to the thread at a time, and the ring holds at most `maxBuffered` more. A
 * disk that cannot keep up, or a lock held too long, costs the oldest records (stats().dropped), never
 * memory or answer latency.
 */
export class QueryLogWriter {
  private readonly ring: (QueryRecord | undefined)[];
  private head = 0;
  private size = 0;
  private readonly o: Required<Omit<QueryLogWriterOptions, 'onError'>> & Pick<QueryLogWriterOptions, 'onError'>;
  private readonly thread: Worker | undefined;
  private inFlight = 0;
  private dead = false;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Immediate | undefined;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private pushed = 0;
  private written = 0;
  private dropped = 0;
  private skipped = 0;
  private busy = 0;
  private errors = 0;
  private lastError: string | null = null;

  /** Opens (creating or migrating) the file here, so a path that cannot be used fails the constructor. */
  constructor(file: string, readonly mode: QueryLogMode, opts: QueryLogWriterOptions = {}) {
    this.o = { ...DEFAULTS, ...opts };
    if (!(this.o.maxBuffered >= 1 && this.o.batchRows >= 1)) throw new RangeError('query log: maxBuffered and batchRows must be at least 1');
    if (mode === 'off') {
      this.ring = [];
      return;
    }
    openQueryLogDb(file).close();
    this.ring = new Array<QueryRecord | undefined>(this.o.maxBuffered).fill(undefined);
    const thread = spawnThread(import.meta.url, 'writer-thread', { file, anonymous: mode === 'anonymous', busyTimeoutMs: this.o.busyTimeoutMs });
    this.thread = thread;
    // An idle writer must not keep the worker process alive.
    thread.unref();
    thread.on('message', (m: WriterThreadReply) => this.onReply(m));
    thread.on('error', (e: Error) => this.fail(e, this.inFlight));
    // A thread that died (it could not open the file, it ran out of memory) writes nothing more: what comes
    // is counted as dropped, and stats() says why.
    thread.on('exit', () => {
      this.dead = true;
      this.drained?.();
    });
    this.timer = setInterval(() => this.flush(), this.o.flushIntervalMs);
    this.timer.unref();
  }

  /** Records one answered query. O(1); the record must not be changed afterwards. */
  push(r: QueryRecord): void {
    if (this.thread === undefined || this.closing !== undefined) return;
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
    if (this.size >= this.o.batchRows && this.soon === undefined && this.inFlight === 0) {
      // Not within this call: it is on the answer path. Right after it.
      this.soon = setImmediate(() => {
        this.soon = undefined;
        this.flush();
      });
    }
  }

  /** Hands the next batch to the writer thread, unless one is still being written. */
  flush(): void {
    if (this.thread === undefined || this.inFlight > 0 || this.size === 0) return;
    if (this.dead) {
      this.dropped += this.size;
      this.size = 0;
      this.ring.fill(undefined);
      return;
    }
    const n = Math.min(this.size, this.o.batchRows);
    const rows = new Array<QueryRecord>(n);
    const cap = this.ring.length;
    for (let i = 0; i < n; i++) {
      rows[i] = this.ring[this.head]!;
      this.ring[this.head] = undefined;
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
    }
    this.size -= n;
    this.inFlight = n;
    const m: WriterThreadRequest = { type: 'batch', rows };
    this.thread.postMessage(m);
  }

  private onReply(m: WriterThreadReply): void {
    if (m.type === 'busy') {
      this.busy++;
      return;
    }
    if (m.type === 'closed') return;
    if (m.type === 'done') {
      this.written += m.n;
      this.skipped += m.skipped;
    }
    else this.fail(new Error(m.message), m.n);
    this.inFlight = 0;
    // A backlog goes out batch after batch; a closing writer drains everything.
    if (this.size >= this.o.batchRows || (this.closing !== undefined && this.size > 0)) this.flush();
    else if (this.closing !== undefined) this.drained?.();
  }

  private fail(e: Error, lost: number): void {
    this.errors++;
    this.dropped += lost;
    this.inFlight = 0;
    this.lastError = e.message;
    this.o.onError?.(e);
  }

  stats(): QueryLogWriterStats {
    return {
      mode: this.mode,
      pushed: this.pushed,
      written: this.written,
      dropped: this.dropped,
      skipped: this.skipped,
      buffered: this.size + this.inFlight,
      busy: this.busy,
      errors: this.errors,
      lastError: this.lastError,
    };
  }

  /**
   * Writes everything still buffered, then closes the file and ends the thread. What is not written
   * within `timeoutMs` (a lock never released, a dead disk) is counted as dropped.
   */
  close(timeoutMs = 10_000): Promise<void> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.soon !== undefined) clearImmediate(this.soon);
    const thread = this.thread;
    if (thread === undefined) return;
    thread.ref();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), timeoutMs)));
    try {
      if (this.size > 0 || this.inFlight > 0) {
        const drained = new Promise<void>((res) => (this.drained = res));
        this.flush();
        if (this.inFlight === 0 && this.size === 0) this.drained?.();
        await Promise.race([drained, timeout]);
      }
      const exited = this.dead ? Promise.resolve() : new Promise<void>((res) => thread.once('exit', () => res()));
      if (this.inFlight === 0 && !this.dead) {
        const closed = new Promise<void>((res) => thread.on('message', (m: WriterThreadReply) => m.type === 'closed' && res()));
        const bye: WriterThreadRequest = { type: 'close' };
        thread.postMessage(bye);
        await Promise.race([closed, timeout]);
      }
      this.dropped += this.size + this.inFlight;
      this.size = 0;
      this.inFlight = 0;
      this.ring.fill(undefined);
      await thread.terminate();
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
