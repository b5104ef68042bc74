import type { CrowdsecFeedConfig, FeedConfig } from '../feeds/index.js';
import type { Contribution, ModuleContext } from '../modules/index.js';
import { LapiCredentials } from '../store/lapi-credentials.js';
import { startCrowdsecFeed, VERSION } from './feed.js';
import type { CrowdsecApi, CrowdsecView } from './module.js';
import { startExtraServers } from './servers.js';

const isCrowdsecFeed = (f: FeedConfig): f is CrowdsecFeedConfig => f.type === 'crowdsec';

/** The crowdsec module's start: the LAPI and mirror listeners first (a taken port refuses the start), then the feeds. */
export async function startCrowdsec(ctx: ModuleContext<CrowdsecView>): Promise<Contribution<CrowdsecApi>> {
  const c = ctx.config;
  const credentials = new LapiCredentials(ctx.store);
  const servers = await startExtraServers(c, ctx.decisions, credentials, { limits: ctx.listenerLimits, log: ctx.log }, { network: ctx.network, log: ctx.log });
  const feeds = c.feeds.filter(isCrowdsecFeed).map((f) => startCrowdsecFeed(f, ctx.decisions, ctx.log, VERSION, ctx.network));
  return {
    provides: { feeds, lapiAddress: servers.lapiAddress, mirrorAddress: servers.mirrorAddress },
    status: () => ({ lapi: servers.lapiAddress ?? null, mirror: servers.mirrorAddress ?? null, feeds: feeds.length }),
    async stop() {
      await Promise.allSettled(feeds.map((f) => f.stop()));
      await servers.close();
    },
  };
}
