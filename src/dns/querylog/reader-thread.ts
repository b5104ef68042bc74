/**
 * The daemon's query-log reads and retention on a thread of their own (see service.ts): a top or a prune over
 * a million rows takes seconds of SQLite, which on the daemon's event loop would stall every API, the LAPI and
 * the kernel writer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { QueryLogReader, type PruneResult } from './reader.js';
import type { QueryFilter, QueryRow, QueryTop, TopFilter } from './types.js';

export interface ReaderThreadSetup {
  readonly file: string;
}

export type ReaderThreadRequest =
  | { readonly id: number; readonly op: 'query'; readonly filter: QueryFilter }
  | { readonly id: number; readonly op: 'top'; readonly filter: TopFilter; readonly now: number }
  | { readonly id: number; readonly op: 'prune'; readonly retentionMs: number; readonly maxRows: number; readonly now: number; readonly chunkRows?: number };

export type ReaderThreadReply =
  | { readonly id: number; readonly ok: true; readonly rows?: QueryRow[]; readonly top?: QueryTop; readonly prune?: PruneResult }
  | { readonly id: number; readonly ok: false; readonly error: string };

const port = parentPort;
if (!port) throw new Error('reader-thread.ts runs as the query log reader\'s thread, not on its own');
const reader = QueryLogReader.open((workerData as ReaderThreadSetup).file);

port.on('message', (m: ReaderThreadRequest) => {
  void answer(m).then((r) => port.postMessage(r));
});

/** Retention yields between its chunks, so a listing asked meanwhile is answered in between. */
async function answer(m: ReaderThreadRequest): Promise<ReaderThreadReply> {
  try {
    if (m.op === 'query') return { id: m.id, ok: true, rows: reader.query(m.filter) };
    if (m.op === 'top') return { id: m.id, ok: true, top: reader.top(m.filter, m.now) };
    const o = m.chunkRows === undefined ? { now: m.now } : { now: m.now, chunkRows: m.chunkRows };
    return { id: m.id, ok: true, prune: await reader.prune(m.retentionMs, m.maxRows, o) };
  } catch (e) {
    return { id: m.id, ok: false, error: (e as Error).message };
  }
}
