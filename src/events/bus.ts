/**
 * A typed in-process event bus with two kinds of subscriber.
 *
 * Must-see (`subscribe`): called synchronously inside `publish`, in publish order, for every event. For
 * in-process consumers whose correctness depends on seeing every change in order (the enforcer, the LAPI
 * stream cache). They cannot be dropped from, so they must be cheap: record the change and return, doing
 * slow work later on their own (the enforcer coalesces changes into its next nft run). Nothing is queued
 * for them, so there is no queue to overflow.
 *
 * Best-effort (`subscribeQueued`): events are copied into a bounded queue per subscriber and handed over
 * later, one at a time, awaiting an async handler before the next. A slow one (a dashboard's live stream,
 * a notifier waiting on SMTP) never stalls the publisher or the others. When its queue is full the OLDEST
 * queued event is dropped and counted; the next event it receives carries `missed` = how many it lost
 * since the one before, so it can tell its client "you missed N events, reload".
 *
 * A subscriber that throws (or whose promise rejects) is reported to `onError` and keeps its
 * subscription; the publisher and the other subscribers never see the error.
 */
import type { GatehouseEvents } from './map.js';

export type EventName<M> = keyof M & string;

/** One published event as a queued subscriber receives it. */
export type BusEvent<M, K extends EventName<M> = EventName<M>> = {
  readonly [P in K]: {
    readonly type: P;
    readonly payload: M[P];
    /** Bus-wide publish counter: gaps in a queued subscriber's sequence are events of other types or dropped ones. */
    readonly seq: number;
  };
}[K];

export type Unsubscribe = () => void;

export interface QueuedSubscription {
  /** Events dropped from this subscriber's queue since it subscribed. */
  readonly dropped: number;
  /** Events waiting in its queue. */
  readonly pending: number;
  /** Ends the subscription; queued events not yet handed over are discarded. */
  close(): void;
}

export interface QueuedOptions {
  /** For error reports and stats. */
  readonly name?: string;
  /** Events held while the handler is busy; default 1024. When full the oldest is dropped. */
  readonly capacity?: number;
}

/** The publishing half, for modules that only announce. */
export interface EventPublisher<M = GatehouseEvents> {
  publish<K extends EventName<M>>(type: K, payload: M[K]): void;
}

/** The subscribing half, for modules that only listen. */
export interface EventSource<M = GatehouseEvents> {
  /** Must-see: called synchronously during publish, for every event of this type, in order. Keep it cheap. */
  subscribe<K extends EventName<M>>(type: K, handler: (payload: M[K]) => void, name?: string): Unsubscribe;
  /** Best-effort: a bounded queue of these types, handed over asynchronously; overflow drops the oldest. */
  subscribeQueued<K extends EventName<M>>(
    types: readonly K[],
    handler: (event: BusEvent<M, K>, missed: number) => void | Promise<void>,
    opts?: QueuedOptions,
  ): QueuedSubscription;
}

export interface EventBus<M = GatehouseEvents> extends EventPublisher<M>, EventSource<M> {}

export interface EventBusOptions {
  /** Where a subscriber's exception goes; default: printed to stderr. */
  readonly onError?: (err: Error, where: { readonly event: string; readonly subscriber: string }) => void;
}

export const DEFAULT_QUEUE_CAPACITY = 1024;
