import type { Worker } from 'node:worker_threads';
import { createScheduler, type Job, type Scheduler } from '../scheduler/index.js';
import type { CheckpointReply, CheckpointRequest, CheckpointWorkerSetup } from './checkpoint-worker.js';
import { spawnThread } from './thread.js';

/**
 * The daemon's periodic WAL checkpoint, run in a worker thread with its own connection in PASSIVE mode.
 *
 * After a bulk load the WAL holds hundreds of MB; copying it into the database file on the main
 * connection stalled the event loop (HTTP APIs, the load itself) for seconds. PASSIVE never waits for
 * nor blocks the daemon's readers and writers; FULL/RESTART/TRUNCATE would take the writer lock and make
 * the main thread's next write sit in busy_timeout, which is the same stall again. The WAL file is not
 * reset by PASSIVE: once a checkpoint has copied every frame, the main connection's next write restarts
 * the WAL from its start and journal_size_limit (set in openDb) truncates the file.
 */

export interface CheckpointResult {
  /** Another checkpoint held the lock; nothing was copied this time. */
  readonly busy: boolean;
  /** Frames in the WAL when the checkpoint ran (-1 when the database is not in WAL mode). */
  readonly walFrames: number;
  /** Frames now in the database file; fewer than walFrames while a reader pins an older snapshot. */
  readonly checkpointedFrames: number;
  readonly ms: number;
  /** The worker thread the checkpoint ran on (never the main thread's 0). */
  readonly threadId: number;
}

export interface CheckpointerLog {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface Checkpointer {
  /** Runs a checkpoint now, or joins the one already running. Rejects on failure or after stop(). */
  checkpointNow(): Promise<CheckpointResult>;
  /** Ends the timer, waits for a running checkpoint, closes the worker's connection and ends the thread. */
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  /** How long the worker's connection waits on a lock (blocks only the worker). */
  readonly busyTimeoutMs?: number;
  /** How long stop() lets the worker finish its checkpoint and close before terminating it. */
  readonly stopTimeoutMs?: number;
  /** Runs the periodic checkpoint; default a scheduler of its own on the system clock. */
  readonly scheduler?: Scheduler;
}

/** Checkpoints `dbPath` every `intervalMs` (first run after one interval); failures are logged and retried. */
export function startCheckpointer(dbPath: string, intervalMs: number, log: CheckpointerLog, opts: CheckpointerOptions = {}): Checkpointer {
  return new WorkerCheckpointer(dbPath, intervalMs, log, opts);
}

interface Pending {
  resolve(r: CheckpointResult): void;
  reject(e: Error): void;
}

class WorkerCheckpointer implements Checkpointer {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private running: Promise<CheckpointResult> | undefined;
  private readonly job: Job;
  private stopped = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly dbPath: string,
    intervalMs: number,
    private readonly log: CheckpointerLog,
    private readonly opts: CheckpointerOptions,
  ) {
    const scheduler = opts.scheduler ?? createScheduler({ log: { error() {} } });
    this.job = scheduler.every('checkpoint the store', intervalMs, () => this.scheduled());
  }

  /** A failure is this job's own warning (with the file named), not the scheduler's generic error line. */
  private async scheduled(): Promise<void> {
    try {
      const r = await this.checkpointNow();
      this.log.debug({ ...r, ms: Math.round(r.ms) }, 'store checkpointed');
    } catch (e) {
      if (!this.stopped) this.log.warn({ err: (e as Error).message, db: this.dbPath }, 'store checkpoint failed; retrying next interval');
    }
  }

  checkpointNow(): Promise<CheckpointResult> {
    if (this.stopped) return Promise.reject(new Error('the checkpointer is stopped'));
    if (!this.running) {
      this.running = this.request().finally(() => (this.running = undefined));
    }
    return this.running;
  }

  private request(): Promise<CheckpointResult> {
    return new Promise<CheckpointResult>((resolve, reject) => {
      const w = this.ensureWorker();
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      // Referenced while someone awaits an answer, so that the answer can arrive.
      w.ref();
      const message: CheckpointRequest = { type: 'checkpoint', id };
      w.postMessage(message);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const setup: CheckpointWorkerSetup = { path: this.dbPath, busyTimeoutMs: this.opts.busyTimeoutMs ?? 5000 };
    const w = spawnThread(import.meta.url, 'checkpoint-worker', setup);
    w.on('message', (m: CheckpointReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      // An idle worker must not keep the process alive; the daemon's servers decide that.
      if (this.pending.size === 0) w.unref();
      if (m.ok) p.resolve({ busy: m.busy, walFrames: m.walFrames, checkpointedFrames: m.checkpointedFrames, ms: m.ms, threadId: m.threadId });
      else p.reject(new Error(m.error));
    });
    // An uncaught error in the worker ends the thread; 'exit' follows and fails what was waiting.
    w.on('error', (e) => {
      if (!this.stopped) this.log.warn({ err: e.message }, 'store checkpoint worker failed');
    });
    w.on('exit', (code) => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(new Error(`the checkpoint worker exited (code ${code})`));
      this.pending.clear();
    });
    this.worker = w;
    return w;
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    // Not awaited: a scheduled run waits on the worker's answer, which the close below lets arrive.
    void this.job.stop();
    const w = this.worker;
    if (!w) return;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    // Messages are handled in order, so a running checkpoint finishes before the connection closes.
    const close: CheckpointRequest = { type: 'close' };
    w.postMessage(close);
    let timeout: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timeout = setTimeout(() => resolve('late'), this.opts.stopTimeoutMs ?? 10_000)));
    try {
      if ((await Promise.race([exited, late])) === 'late') {
        this.log.warn({ db: this.dbPath }, 'store checkpoint worker did not stop in time; terminating it');
        await w.terminate();
      }
    } finally {
      clearTimeout(timeout);
    }
  }
}
