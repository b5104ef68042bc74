/**
 * The query log writer's thread (see writer.ts): owns the worker process's SQLite connection and writes
 * the batches the main thread posts, so the inserts (several µs a row) and any wait for another worker's
 * write lock happen off the answer loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isBusy, openQueryLogDb } from './schema.js';
import type { QueryRecord } from './types.js';

export interface WriterThreadSetup {
  readonly file: string;
  readonly anonymous: boolean;
  /** One wait for the lock; after it the thread reports `busy` and waits again. */
  readonly busyTimeoutMs: number;
}

export type WriterThreadRequest = { readonly type: 'batch'; readonly rows: readonly QueryRecord[] } | { readonly type: 'close' };

export type WriterThreadReply =
  | { readonly type: 'done'; readonly n: number; readonly skipped: number }
  | { readonly type: 'busy' }
  | { readonly type: 'error'; readonly n: number; readonly message: string }
  | { readonly type: 'closed' };

const port = parentPort;
if (!port) throw new Error('writer-thread.ts runs as the query log writer\'s thread, not on its own');
const setup = workerData as WriterThreadSetup;

const db = openQueryLogDb(setup.file, { busyTimeoutMs: setup.busyTimeoutMs });
const insert = db.prepare(
  `INSERT INTO queries (t, client, mac, client_name, name, qtype, rcode, answer, blocked_by, blocked_what, monitored, upstream, latency_us, cached)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);
const anonymous = setup.anonymous;
// IMMEDIATE takes the write lock up front: a busy lock shows at BEGIN, before any row is written.
/** A number SQLite takes as an integer: a record built wrong (NaN, a string) must not fail its batch. */
function int(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : 0;
}
function text(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

// IMMEDIATE takes the write lock up front: a busy lock shows at BEGIN, before any row is written.
const write = db.transaction((rows: readonly QueryRecord[]): number => {
  let skipped = 0;
  for (const r of rows) {
    try {
      insert.run(
        int(r.t),
        anonymous ? null : text(r.client),
        anonymous ? null : text(r.mac),
        anonymous ? null : text(r.clientName),
        r.name,
        int(r.qtype),
        int(r.rcode),
        text(r.answer),
        text(r.blocked?.by),
        text(r.blocked?.what),
        text(r.monitored),
        text(r.upstream),
        int(r.latencyUs),
        r.cached ? 1 : 0,
      );
    } catch (e) {
      // A busy lock is the batch's, and retried whole; a row SQLite refuses (no name) is only that row's.
      if (isBusy(e)) throw e;
      skipped++;
    }
  }
  return skipped;
}).immediate;

function reply(m: WriterThreadReply): void {
  port!.postMessage(m);
}

port.on('message', (m: WriterThreadRequest) => {
  if (m.type === 'close') {
    db.close();
    reply({ type: 'closed' });
    return;
  }
  for (;;) {
    try {
      const skipped = write(m.rows);
      reply({ type: 'done', n: m.rows.length - skipped, skipped });
      return;
    } catch (e) {
      // Another worker's batch: it ends within milliseconds, and only this thread waits.
      if (isBusy(e)) {
        reply({ type: 'busy' });
        continue;
      }
      reply({ type: 'error', n: m.rows.length, message: (e as Error).message });
      return;
    }
  }
});
