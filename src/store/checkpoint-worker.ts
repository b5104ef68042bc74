/**
 * Worker thread of the store checkpointer (see checkpointer.ts): owns a second connection to the
 * database file and runs PASSIVE checkpoints on request, so that copying a WAL of hundreds of MB into
 * the database file (and its fsync) happens off the daemon's event loop.
 */
import Database from 'better-sqlite3';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

export interface CheckpointWorkerSetup {
  readonly path: string;
  readonly busyTimeoutMs: number;
}

export type CheckpointRequest = { readonly type: 'checkpoint'; readonly id: number } | { readonly type: 'close' };

export type CheckpointReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly busy: boolean;
      readonly walFrames: number;
      readonly checkpointedFrames: number;
      readonly ms: number;
      readonly threadId: number;
    }
  | { readonly id: number; readonly ok: false; readonly error: string };

interface WalCheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

const port = parentPort;
if (!port) throw new Error('checkpoint-worker.ts runs as a worker thread of the checkpointer, not on its own');
const setup = workerData as CheckpointWorkerSetup;
let db: Database.Database | undefined;

function connection(): Database.Database {
  if (!db) {
    // fileMustExist: a wrong path must fail, not checkpoint a fresh empty database nobody uses.
    db = new Database(setup.path, { fileMustExist: true });
    // Waiting here blocks only this thread; PASSIVE itself never waits for the daemon's readers or writers.
    db.pragma(`busy_timeout = ${setup.busyTimeoutMs}`);
  }
  return db;
}

function dropConnection(): void {
  try {
    db?.close();
  } catch {
    // The connection is being thrown away after a failure; a second failure adds nothing.
  }
  db = undefined;
}

function checkpoint(id: number): CheckpointReply {
  const started = performance.now();
  try {
    const [row] = connection().pragma('wal_checkpoint(PASSIVE)') as WalCheckpointRow[];
    if (!row) throw new Error('wal_checkpoint returned no row');
    return {
      id,
      ok: true,
      busy: row.busy !== 0,
      walFrames: row.log,
      checkpointedFrames: row.checkpointed,
      ms: performance.now() - started,
      threadId,
    };
  } catch (e) {
    // Reopen next time: the file may have been replaced (a restore) or come back.
    dropConnection();
    return { id, ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

port.on('message', (m: CheckpointRequest) => {
  if (m.type === 'close') {
    dropConnection();
    port.close();
    return;
  }
  port.postMessage(checkpoint(m.id));
});
