import type { CrowdsecFeedConfig, FeedConfig } from '../feeds/index.js';
import type { Contribution, ModuleContext } from '../modules/index.js';
import { ALERT_RETENTION, LapiAlerts, LapiCredentials } from '../store/index.js';
import { VERSION } from '../version.js';
import { startCrowdsecFeed } from './feed.js';
import type { LapiRequestLabels } from './lapi/index.js';
import type { CrowdsecApi, CrowdsecView } from './module.js';
import { startExtraServers } from './servers.js';

const isCrowdsecFeed = (f: FeedConfig): f is CrowdsecFeedConfig => f.type === 'crowdsec';

/** The crowdsec module's start: the LAPI and mirror listeners first (a taken port refuses the start), then the feeds. */
export async function startCrowdsec(ctx: ModuleContext<CrowdsecView>): Promise<Contribution<CrowdsecApi>> {
  const c = ctx.config;
  const credentials = new LapiCredentials(ctx.store);
  const store = { service: ctx.decisions, db: ctx.store, events: ctx.bus };
  const requestListeners: ((labels: LapiRequestLabels) => void)[] = [];
  const servers = await startExtraServers(c, store, credentials, { limits: ctx.listenerLimits, log: ctx.log }, { network: ctx.network, log: ctx.log }, (l) => {
    for (const f of requestListeners) f(l);
  });
  const deps = { decisions: ctx.decisions, log: ctx.log, scheduler: ctx.scheduler, events: ctx.bus, network: ctx.network };
  const feeds = c.feeds.filter(isCrowdsecFeed).map((f) => startCrowdsecFeed(f, deps, VERSION));
  const alerts = new LapiAlerts(ctx.store);
  const purge = ctx.scheduler.every('purge old alerts', 3600_000, () => {
    alerts.purge(ctx.scheduler.clock.now() - ALERT_RETENTION.maxAgeMs, ALERT_RETENTION.maxCount);
  });
  return {
    provides: { feeds, lapiAddress: servers.lapiAddress, mirrorAddress: servers.mirrorAddress, onLapiRequest: (fn) => void requestListeners.push(fn) },
    status: () => ({ lapi: servers.lapiAddress ?? null, mirror: servers.mirrorAddress ?? null, feeds: feeds.length }),
    async stop() {
      await purge.stop();
      await Promise.allSettled(feeds.map((f) => f.stop()));
      await servers.close();
    },
  };
}
