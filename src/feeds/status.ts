import type { FeedType } from './types.js';

/** How feed lifecycles log. */
export interface FeedLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

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
