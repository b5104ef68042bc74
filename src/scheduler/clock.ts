import { setImmediate as nextTurn } from 'node:timers/promises';

/** Time as the scheduler and the modules see it: the system's, or a test's manual one. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it. Never keeps the process alive. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    // The daemon's servers decide whether the process lives, not a pending job.
    t.unref();
    return () => clearTimeout(t);
  },
};

interface ManualTimer {
  readonly at: number;
  readonly order: number;
  readonly fn: () => void;
}

/**
 * A clock that only moves when a test says so: timers fire in time order inside `advance`, with the event
 * loop given a turn after each so the work they start (promise chains, SQLite writes) runs before the next.
 */
export class ManualClock implements Clock {
  private time: number;
  private order = 0;
  private timers: ManualTimer[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const t: ManualTimer = { at: this.time + Math.max(0, ms), order: this.order++, fn };
    this.timers.push(t);
    return () => {
      this.timers = this.timers.filter((x) => x !== t);
    };
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      const due = this.nextDue(target);
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.time = due.at;
      due.fn();
      await nextTurn();
    }
    this.time = target;
    await nextTurn();
  }

  private nextDue(limit: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers) {
      if (t.at <= limit && (!best || t.at < best.at || (t.at === best.at && t.order < best.order))) best = t;
    }
    return best;
  }
}
