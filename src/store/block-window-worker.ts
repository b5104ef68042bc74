/**
 * Worker thread of BlockWindow (block-window.ts): its own read-only connection to the database file, so the
 * pass over a day's block rows never runs on the daemon's event loop.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { countWindow, type TopRemote } from './block-window.js';

export interface WindowRequest {
  readonly id: number;
  readonly since: number;
  readonly top: number;
}

export type WindowReply =
  | { readonly id: number; readonly ok: true; readonly topRemotes: readonly TopRemote[]; readonly clientRemotes: readonly [string, number][] }
  | { readonly id: number; readonly ok: false; readonly error: string };

const port = parentPort;
if (!port) throw new Error('block-window-worker.ts runs as a worker thread of BlockWindow, not on its own');
const { path } = workerData as { path: string };
let db: Database.Database | undefined;

port.on('message', (m: WindowRequest) => {
  let reply: WindowReply;
  try {
    db ??= new Database(path, { readonly: true, fileMustExist: true });
    // The daemon's writer may hold the lock for a moment; waiting blocks only this thread.
    db.pragma('busy_timeout = 5000');
    const c = countWindow(db, m.since, m.top);
    reply = { id: m.id, ok: true, topRemotes: c.topRemotes, clientRemotes: [...c.clientRemotes] };
  } catch (e) {
    try {
      db?.close();
    } catch {
      // Thrown away after a failure; a second failure adds nothing.
    }
    db = undefined;
    reply = { id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
