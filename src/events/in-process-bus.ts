import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { GatehouseEvents } from './map.js';
import {
  DEFAULT_QUEUE_CAPACITY,
  type BusEvent,
  type EventBus,
  type EventBusOptions,
  type EventName,
  type QueuedOptions,
  type QueuedSubscription,
  type Unsubscribe,
} from './bus.js';

interface Published {
  readonly type: string;
  readonly payload: unknown;
}

interface SyncSub {
  readonly name: string;
  readonly handler: (payload: unknown) => void;
  active: boolean;
}

type Report = (err: unknown, event: string, subscriber: string) => void;

/** A best-effort subscriber: a ring buffer of at most `capacity` events, drained by one async loop. */
class QueuedSub implements QueuedSubscription {
  private readonly ring: (BusEvent<Record<string, unknown>> | undefined)[];
  private head = 0;
  private size = 0;
  private missed = 0;
  private dropped_ = 0;
  private draining = false;
  active = true;

  constructor(
    readonly name: string,
    private readonly handler: (e: BusEvent<Record<string, unknown>>, missed: number) => void | Promise<void>,
    capacity: number,
    private readonly report: Report,
    private readonly detach: () => void,
  ) {
    this.ring = new Array(capacity);
  }

  get dropped(): number {
    return this.dropped_;
  }

  get pending(): number {
    return this.size;
  }

  push(e: BusEvent<Record<string, unknown>>): void {
    if (this.size === this.ring.length) {
      // Full: the oldest goes, so a subscriber that catches up sees the newest state, told what it missed.
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.ring.length;
      this.size--;
      this.dropped_++;
      this.missed++;
    }
    this.ring[(this.head + this.size) % this.ring.length] = e;
    this.size++;
    if (!this.draining) {
      this.draining = true;
      void this.drain();
    }
  }

  private async drain(): Promise<void> {
    // Handed over on a later turn of the event loop: the publisher's own work (a store transaction's
    // caller, the enforcer) runs first.
    await yieldToLoop();
    while (this.active && this.size > 0) {
      const e = this.ring[this.head]!;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.ring.length;
      this.size--;
      const missed = this.missed;
      this.missed = 0;
      try {
        await this.handler(e, missed);
      } catch (err) {
        this.report(err, e.type, this.name);
      }
    }
    this.draining = false;
  }

  close(): void {
    if (!this.active) return;
    this.active = false;
    this.ring.fill(undefined);
    this.size = 0;
    this.detach();
  }
}

class InProcessBus<M> implements EventBus<M> {
  // Copy-on-write lists: a publish iterates the list as it was, so (un)subscribing inside a handler is safe.
  private readonly sync = new Map<string, readonly SyncSub[]>();
  private readonly queued = new Map<string, readonly QueuedSub[]>();
  private readonly backlog: Published[] = [];
  private delivering = false;
  private seq = 0;
  private readonly report: Report;

  constructor(opts: EventBusOptions) {
    const onError = opts.onError ?? ((err, where) => console.error(`event ${where.event}: subscriber ${where.subscriber} failed: ${err.message}`));
    this.report = (err, event, subscriber) => {
      try {
        onError(err instanceof Error ? err : new Error(String(err)), { event, subscriber });
      } catch {
        // A failing error reporter must not reach the publisher either.
      }
    };
  }

  publish<K extends EventName<M>>(type: K, payload: M[K]): void {
    this.backlog.push({ type, payload });
    // A handler that publishes in turn: its event waits until this one has reached every subscriber, so
    // all must-see subscribers see all events in one and the same order.
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let e = this.backlog.shift(); e !== undefined; e = this.backlog.shift()) this.deliver(e);
    } finally {
      this.delivering = false;
    }
  }

  private deliver(e: Published): void {
    const seq = ++this.seq;
    for (const s of this.sync.get(e.type) ?? []) {
      if (!s.active) continue;
      try {
        const r = s.handler(e.payload) as unknown;
        // An async handler slipped in as a must-see one: its rejection is still reported, never unhandled.
        if (r instanceof Promise) r.catch((err: unknown) => this.report(err, e.type, s.name));
      } catch (err) {
        this.report(err, e.type, s.name);
      }
    }
    const queued = this.queued.get(e.type);
    if (queued) {
      const event = { type: e.type, payload: e.payload, seq };
      for (const q of queued) if (q.active) q.push(event);
    }
  }

  subscribe<K extends EventName<M>>(type: K, handler: (payload: M[K]) => void, name = type): Unsubscribe {
    const sub: SyncSub = { name, handler: handler as (p: unknown) => void, active: true };
    this.sync.set(type, [...(this.sync.get(type) ?? []), sub]);
    return () => {
      if (!sub.active) return;
      sub.active = false;
      this.sync.set(type, (this.sync.get(type) ?? []).filter((s) => s !== sub));
    };
  }

  subscribeQueued<K extends EventName<M>>(
    types: readonly K[],
    handler: (event: BusEvent<M, K>, missed: number) => void | Promise<void>,
    opts: QueuedOptions = {},
  ): QueuedSubscription {
    const capacity = opts.capacity ?? DEFAULT_QUEUE_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be a positive integer, not ${capacity}`);
    const unique = [...new Set(types)];
    const sub: QueuedSub = new QueuedSub(
      opts.name ?? unique.join(','),
      handler as unknown as (e: BusEvent<Record<string, unknown>>, missed: number) => void | Promise<void>,
      capacity,
      this.report,
      () => {
        for (const t of unique) this.queued.set(t, (this.queued.get(t) ?? []).filter((q) => q !== sub));
      },
    );
    for (const t of unique) this.queued.set(t, [...(this.queued.get(t) ?? []), sub]);
    return sub;
  }
}

/** A new bus; the daemon makes one and hands it to every module. */
export function createEventBus<M = GatehouseEvents>(opts: EventBusOptions = {}): EventBus<M> {
  return new InProcessBus<M>(opts);
}
