import type { Worker } from 'node:worker_threads';
import { QueryLogReader, type PruneOptions, type PruneResult } from './reader.js';
import type { ReaderThreadReply, ReaderThreadRequest } from './reader-thread.js';
import { spawnThread } from '../../store/index.js';
import type { QueryFilter, QueryRow, QueryTop, TopFilter } from './types.js';

interface Pending {
  resolve(r: ReaderThreadReply & { ok: true }): void;
  reject(e: Error): void;
}

/**
 * The daemon's query log: listings, top lists and retention run on a thread with its own connection (they
 * scan or delete up to the whole log); the daemon's event loop only posts the question. The daemon opens it
 * before it forks the workers, which creates the file and its schema.
 */
export class QueryLogService {
  private thread: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  private constructor(
    readonly file: string,
    /** A connection on the daemon's thread, for quick looks (count) and tests. */
    readonly reader: QueryLogReader,
  ) {}

  static open(file: string): QueryLogService {
    return new QueryLogService(file, QueryLogReader.open(file));
  }

  query(filter: QueryFilter = {}): Promise<QueryRow[]> {
    return this.ask({ id: 0, op: 'query', filter }).then((r) => r.rows ?? []);
  }

  top(filter: TopFilter = {}, now = Date.now()): Promise<QueryTop> {
    return this.ask({ id: 0, op: 'top', filter, now }).then((r) => r.top!);
  }

  /** Retention, on the thread too: deleting half a million rows is seconds of SQLite even in chunks. */
  prune(retentionMs: number, maxRows: number, o: PruneOptions = {}): Promise<PruneResult> {
    const req: ReaderThreadRequest = { id: 0, op: 'prune', retentionMs, maxRows, now: o.now ?? Date.now(), ...(o.chunkRows === undefined ? {} : { chunkRows: o.chunkRows }) };
    return this.ask(req).then((r) => r.prune!);
  }

  private ask(req: ReaderThreadRequest): Promise<ReaderThreadReply & { ok: true }> {
    if (this.closed) return Promise.reject(new Error('the DNS query log is closed'));
    return new Promise((resolve, reject) => {
      const t = this.ensureThread();
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      // Referenced while someone waits for an answer, so that it can arrive.
      t.ref();
      t.postMessage({ ...req, id });
    });
  }

  private ensureThread(): Worker {
    if (this.thread) return this.thread;
    const t = spawnThread(import.meta.url, 'reader-thread', { file: this.file });
    t.on('message', (m: ReaderThreadReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) t.unref();
      if (m.ok) p.resolve(m);
      else p.reject(new Error(m.error));
    });
    // A thread that fails takes its questions with it; the next question starts a new one.
    const lost = (e: Error) => {
      if (this.thread === t) this.thread = undefined;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    t.on('error', lost);
    t.on('exit', (code) => lost(new Error(`the query log reader thread exited (${code})`)));
    this.thread = t;
    return t;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const t = this.thread;
    this.thread = undefined;
    if (t) await t.terminate();
    this.reader.close();
  }
}
