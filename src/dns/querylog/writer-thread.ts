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
  | { readonly type: 'done'; readonly n: number }
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
const write = db.transaction((rows: readonly QueryRecord[]) => {
  for (const r of rows) {
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
      write(m.rows);
      reply({ type: 'done', n: m.rows.length });
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
