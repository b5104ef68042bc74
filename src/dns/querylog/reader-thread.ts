/**
 * The daemon's query-log reads on a thread of their own (see service.ts): a top over a million rows takes
 * seconds of SQLite, which on the daemon's event loop would stall every API, the LAPI and the kernel writer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { QueryLogReader } from './reader.js';
import type { QueryFilter, QueryRow, QueryTop, TopFilter } from './types.js';

export interface ReaderThreadSetup {
  readonly file: string;
}

export type ReaderThreadRequest =
  | { readonly id: number; readonly op: 'query'; readonly filter: QueryFilter }
  | { readonly id: number; readonly op: 'top'; readonly filter: TopFilter; readonly now: number };

export type ReaderThreadReply =
  | { readonly id: number; readonly ok: true; readonly rows?: QueryRow[]; readonly top?: QueryTop }
  | { readonly id: number; readonly ok: false; readonly error: string };

const port = parentPort;
if (!port) throw new Error('reader-thread.ts runs as the query log reader\'s thread, not on its own');
const reader = QueryLogReader.open((workerData as ReaderThreadSetup).file);

port.on('message', (m: ReaderThreadRequest) => {
  let reply: ReaderThreadReply;
  try {
    reply = m.op === 'query' ? { id: m.id, ok: true, rows: reader.query(m.filter) } : { id: m.id, ok: true, top: reader.top(m.filter, m.now) };
  } catch (e) {
    reply = { id: m.id, ok: false, error: (e as Error).message };
  }
  port.postMessage(reply);
});
