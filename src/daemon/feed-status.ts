import type { FeedStatus } from '../api/contract.js';

/** What `gatehouse feeds list` shows for one feed: the admin API's contract owns the shape. */
export type { FeedProgress, FeedStatus } from '../api/contract.js';

export interface RunningFeed {
  readonly name: string;
  status(): FeedStatus;
  /** Fetches now; resolves when the result is stored (and enforced) or the attempt failed. */
  refresh(): Promise<FeedStatus>;
  stop(): Promise<void>;
}
