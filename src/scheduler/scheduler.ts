import type { Clock } from './clock.js';

export interface SchedulerLog {
  error(obj: object, msg: string): void;
}

/** What a run may say about the next one: e.g. a poller backing off after an error. */
export type RunResult = void | { readonly nextRunInMs: number };

export type Task = () => RunResult | Promise<RunResult>;

export interface JobOptions {
  /** Delay before the first run; default one interval (0 = right away). */
  readonly firstRunInMs?: number;
  /** Failures are logged unless this says otherwise (a job that reports its own errors). Default true. */
  readonly logFailures?: boolean;
}

/**
 * A repeating task. Runs never overlap: the next is scheduled one interval after a run ends, and a run
 * asked for while one is going waits for it. A failed run is logged and the schedule goes on.
 */
export interface Job {
  readonly name: string;
  readonly intervalMs: number;
  /** When the next scheduled run is due (clock ms); null while a run is going or after stop. */
  readonly nextRunAt: number | null;
  readonly running: boolean;
  /**
   * A run that starts no earlier than this call: now when idle, or right after the run in progress (every
   * caller asking meanwhile shares that one). Resolves when it ends, rejects with its error; the next
   * scheduled run is one interval after it.
   */
  runNow(): Promise<void>;
  /** A new interval, e.g. a feed's refresh; a waiting job is rescheduled from when its wait began. */
  setInterval(ms: number): void;
  /** Resolves when no run is going (now, or when the current one ends). */
  idle(): Promise<void>;
  /** No more runs; resolves once the run in progress (if any) has ended. */
  stop(): Promise<void>;
}

export interface Scheduler {
  readonly clock: Clock;
  /** Runs `task` every `intervalMs` (measured from the end of one run to the start of the next). */
  every(name: string, intervalMs: number, task: Task, opts?: JobOptions): Job;
  /** Jobs not stopped, for status pages. */
  jobs(): readonly Job[];
  /** Stops every job, waiting for runs in progress. */
  stop(): Promise<void>;
}

export interface SchedulerOptions {
  readonly clock?: Clock;
  readonly log: SchedulerLog;
}
