import { systemClock, type Clock } from './clock.js';
import type { Job, JobOptions, RunResult, Scheduler, SchedulerLog, SchedulerOptions, Task } from './scheduler.js';

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting on it (a stop with no caller): that must not be an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

function checkInterval(name: string, ms: number): void {
  if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`${name}: interval must be a positive number of milliseconds, not ${ms}`);
}

class ScheduledJob implements Job {
  private cancelTimer: (() => void) | undefined;
  private waitFrom = 0;
  private current: Promise<void> | undefined;
  private followUp: Deferred | undefined;
  private stopped = false;
  nextRunAt: number | null = null;

  constructor(
    readonly name: string,
    public intervalMs: number,
    private readonly task: Task,
    private readonly opts: JobOptions,
    private readonly clock: Clock,
    private readonly log: SchedulerLog,
    private readonly onStop: (j: ScheduledJob) => void,
  ) {
    checkInterval(name, intervalMs);
    this.waitFrom = clock.now();
    this.arm(opts.firstRunInMs ?? intervalMs);
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  /** Sets the timer for a run `ms` after `waitFrom`. */
  private arm(ms: number): void {
    this.cancelTimer?.();
    const at = this.waitFrom + Math.max(0, ms);
    this.nextRunAt = at;
    this.cancelTimer = this.clock.setTimer(() => {
      this.cancelTimer = undefined;
      // A scheduled run's failure is logged in start(); nobody awaits it.
      this.start().catch(() => {});
    }, Math.max(0, at - this.clock.now()));
  }

  private start(): Promise<void> {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.nextRunAt = null;
    let next = this.intervalMs;
    const run = (async () => {
      try {
        const r: RunResult = await this.task();
        if (r && Number.isFinite(r.nextRunInMs)) next = r.nextRunInMs;
      } catch (e) {
        if (this.opts.logFailures !== false) this.log.error({ err: e instanceof Error ? e.message : String(e) }, `${this.name} failed`);
        throw e;
      }
    })();
    this.current = run.then(
      () => this.ended(next),
      () => this.ended(next),
    );
    return run;
  }

  private ended(nextInMs: number): void {
    this.current = undefined;
    if (this.stopped) return;
    const asked = this.followUp;
    if (asked) {
      this.followUp = undefined;
      this.start().then(asked.resolve, asked.reject);
      return;
    }
    this.waitFrom = this.clock.now();
    this.arm(nextInMs);
  }

  runNow(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error(`${this.name}: stopped`));
    if (!this.current) return this.start();
    this.followUp ??= deferred();
    return this.followUp.promise;
  }

  setInterval(ms: number): void {
    checkInterval(this.name, ms);
    this.intervalMs = ms;
    if (!this.stopped && this.cancelTimer) this.arm(ms);
  }

  async idle(): Promise<void> {
    while (this.current) await this.current;
  }

  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.cancelTimer?.();
      this.cancelTimer = undefined;
      this.nextRunAt = null;
      this.followUp?.reject(new Error(`${this.name}: stopped`));
      this.followUp = undefined;
      this.onStop(this);
    }
    await this.idle();
  }
}

class RunScheduler implements Scheduler {
  readonly clock: Clock;
  private readonly log: SchedulerLog;
  private readonly live = new Set<ScheduledJob>();

  constructor(opts: SchedulerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log;
  }

  every(name: string, intervalMs: number, task: Task, opts: JobOptions = {}): Job {
    const job = new ScheduledJob(name, intervalMs, task, opts, this.clock, this.log, (j) => this.live.delete(j));
    this.live.add(job);
    return job;
  }

  jobs(): readonly Job[] {
    return [...this.live];
  }

  async stop(): Promise<void> {
    await Promise.all([...this.live].map((j) => j.stop()));
  }
}

/** The daemon's one scheduler: every periodic job runs through it, on the clock it is given. */
export function createScheduler(opts: SchedulerOptions): Scheduler {
  return new RunScheduler(opts);
}
