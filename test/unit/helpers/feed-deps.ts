import type { FeedDeps, FeedLog } from '../../../src/feeds/index.js';
import type { DecisionService } from '../../../src/decisions/service.js';
import type { DecisionStore } from '../../../src/decisions/store-service.js';
import type { NetworkContext } from '../../../src/net/target-guard.js';
import { createScheduler, ManualClock } from '../../../src/scheduler/index.js';

/**
 * What a feed runs on in a test: the store's bus, and a scheduler on a manual clock, so the feed's timer
 * only fires when the test advances `clock` (its refreshes are the test's own `refresh()` calls otherwise).
 */
export function feedDeps(
  store: DecisionStore,
  log: FeedLog,
  opts: { decisions?: DecisionService; network?: () => NetworkContext; clock?: ManualClock } = {},
): FeedDeps & { readonly clock: ManualClock } {
  const clock = opts.clock ?? new ManualClock(Date.now());
  const scheduler = createScheduler({ clock, log: { error: (o, msg) => log.warn(o, msg) } });
  return { decisions: opts.decisions ?? store.service, log, scheduler, events: store.events, clock, ...(opts.network ? { network: opts.network } : {}) };
}
