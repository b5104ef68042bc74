export interface PeriodicLog {
  error(obj: object, msg: string): void;
}

/** Runs a task every interval, never overlapping itself, logging failures instead of dying on them. */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly name: string, private readonly everyMs: number, private readonly task: () => Promise<void>, private readonly log: PeriodicLog) {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.task()
        .catch((e: unknown) => this.log.error({ err: (e as Error).message }, `${this.name} failed`))
        .finally(() => this.schedule());
    }, this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
