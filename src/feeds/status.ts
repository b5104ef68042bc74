import type { DecisionService } from '../decisions/index.js';
import type { EventPublisher, EventSource } from '../events/index.js';
import type { NetworkContext } from '../net/target-guard.js';
import type { Scheduler } from '../scheduler/index.js';
import type { FeedType } from './types.js';

/** The origin of a feed's decisions. */
export const feedOrigin = (name: string): string => `feed:${name}`;

/** What `gatehouse feeds list` shows for one feed, whatever its kind. */
export interface FeedStatus {
  readonly name: string;
  readonly type: FeedType;
  readonly direction: string;
  readonly source: string;
  readonly entries: number;
  readonly skipped: number;
  readonly lastAttemptAt: number | null;
  readonly lastSuccessAt: number | null;
  readonly nextRunAt: number | null;
  /** The last failure or refused refresh, in plain words; null when the last attempt went well. */
  readonly warning: string | null;
  /** While a refresh runs: how far it got (a million-line list takes a while); absent otherwise. */
  readonly progress?: FeedProgress;
}

export type FeedProgress =
  | { readonly phase: 'downloading'; readonly bytes: number; readonly total?: number }
  | { readonly phase: 'applying'; readonly added: number; readonly removed: number };

export interface RunningFeed {
  readonly name: string;
  status(): FeedStatus;
  /** Fetches now; resolves when the result is stored (and enforced) or the attempt failed. */
  refresh(): Promise<FeedStatus>;
  stop(): Promise<void>;
}

export interface FeedLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What every feed runs on: the store, the daemon's scheduler (its refresh timer and clock) and bus. */
export interface FeedDeps {
  readonly decisions: DecisionService;
  readonly log: FeedLog;
  readonly scheduler: Scheduler;
  /** Where refreshes are announced (`feeds.refreshed`, `feeds.refused`); subscribing to `decisions.changed`. */
  readonly events: EventPublisher & Pick<EventSource, 'subscribe'>;
  /** The gateway's LAN networks and own addresses, which no feed may ban. */
  readonly network?: () => NetworkContext;
}
