import { moduleRef, type Module } from '../modules/index.js';
import { feedsSection, type FeedConfig } from './config.js';
import type { RunningFeed } from './status.js';

export interface FeedsApi {
  readonly feeds: readonly RunningFeed[];
}

export const feedsRef = moduleRef<FeedsApi>('feeds');

/**
 * Downloaded and local lists (`feeds:` entries of type url and file). Entries of type crowdsec are
 * run by the crowdsec module. A list loads into the kernel as it goes when the firewall runs.
 */
export const feedsModule = {
  name: 'feeds',
  sections: (f) => ({ feeds: feedsSection(f) }),
  enabled: (c) => c.feeds.some((f) => f.type !== 'crowdsec'),
  after: ['decisions', 'firewall'],
  async start(ctx) {
    // Loaded here, not at the top: `gatehouse config check` and every CLI verb read the module list.
    const [{ firewallRef }, { startListFeed }] = await Promise.all([import('../firewall/index.js'), import('./list-feed.js')]);
    const kernel = ctx.get(firewallRef);
    const deps = { decisions: ctx.decisions, log: ctx.log, scheduler: ctx.scheduler, events: ctx.bus, network: ctx.network };
    const feeds = ctx.config.feeds.flatMap((f) => (f.type === 'crowdsec' ? [] : [startListFeed(f, deps, kernel ?? {})]));
    return {
      provides: { feeds },
      status: () => ({ feeds: feeds.length }),
      async stop() {
        await Promise.allSettled(feeds.map((f) => f.stop()));
      },
    };
  },
} satisfies Module<{ readonly feeds: readonly FeedConfig[] }, FeedsApi>;
