import type { NewDecision } from '../decisions/index.js';
import { feedOrigin, type CrowdsecFeedConfig, type FeedDeps, type FeedStatus, type RunningFeed } from '../feeds/index.js';
import { LapiStreamClient, type LapiUpdate } from './client/index.js';
import { banRefusalOf, NO_NETWORKS } from '../net/target-guard.js';

/** Until `gatehouse --version` has its own home: the version crowdsec feeds announce to their LAPI. */
export const VERSION = '0.1.0';

/**
 * A CrowdSec LAPI as a feed: the stream client keeps what it has while the LAPI is down, and a full
 * resync replaces this feed's decisions in one transaction, so a restart of either side converges.
 */
export function startCrowdsecFeed(cfg: CrowdsecFeedConfig, deps: FeedDeps, version: string): RunningFeed {
  const { decisions, log, events } = deps;
  const network = deps.network ?? (() => NO_NETWORKS);
  const clock = deps.scheduler.clock;
  const origin = feedOrigin(cfg.name);
  let lastAttemptAt: number | null = null;
  let refused = 0;
  // Upstream decisions may come from anyone (the community blocklist, a compromised peer): the same guard
  // as every other source keeps them from banning everything, the LAN or this gateway.
  const guarded = (ds: readonly NewDecision[]): NewDecision[] => {
    const net = network();
    const why: string[] = [];
    const kept = ds.filter((d) => {
      const w = banRefusalOf(d.value, net);
      if (w !== undefined) why.push(w);
      return w === undefined;
    });
    if (why.length > 0) {
      refused += why.length;
      log.warn({ feed: cfg.name, refused: why.length }, `feed ${cfg.name}: refused ${why.length} decision(s) from the LAPI: ${why.slice(0, 5).join('; ')}`);
    }
    return kept;
  };
  let warning: string | null = null;
  const override = cfg.duration !== undefined ? cfg.duration / 1000 : undefined;
  const withOverride = <T extends { durationSec?: number | null }>(d: T): T => (override !== undefined ? { ...d, durationSec: override } : d);

  const apply = (u: LapiUpdate) => {
    lastAttemptAt = clock.now();
    warning = null;
    if (u.kind === 'full') {
      const r = decisions.replaceOrigin(origin, guarded(u.decisions).map((d) => withOverride({ ...d, origin })));
      log.info({ feed: cfg.name, added: r.added, updated: r.updated, removed: r.removed }, 'crowdsec full sync');
      events.publish('feeds.refreshed', { feed: cfg.name, outcome: 'applied', message: `crowdsec full sync: ${r.added} added, ${r.updated} updated, ${r.removed} removed` });
    } else {
      const added = guarded(u.added);
      if (added.length > 0) decisions.addMany(added.map((d) => withOverride({ ...d, origin })));
      for (const value of u.deleted) decisions.deleteWhere({ value, origin });
      if (u.added.length + u.deleted.length > 0) log.info({ feed: cfg.name, added: u.added.length, deleted: u.deleted.length }, 'crowdsec delta');
      events.publish('feeds.refreshed', { feed: cfg.name, outcome: 'applied', message: `crowdsec delta: ${u.added.length} added, ${u.deleted.length} deleted` });
    }
  };

  const client = new LapiStreamClient({
    url: cfg.url,
    apiKey: cfg.api_key,
    scopes: cfg.scopes,
    origins: cfg.origins.length > 0 ? cfg.origins : undefined,
    scenariosContaining: cfg.scenarios_containing.length > 0 ? cfg.scenarios_containing : undefined,
    scenariosNotContaining: cfg.scenarios_not_containing.length > 0 ? cfg.scenarios_not_containing : undefined,
    intervalMs: cfg.refresh,
    requestTimeoutMs: cfg.timeout,
    userAgent: `gatehouse-bouncer/v${version}`,
    direction: cfg.direction,
    origin,
    scheduler: deps.scheduler,
    jobName: `poll feed ${cfg.name}`,
    onUpdate: apply,
    onError: (e) => {
      lastAttemptAt = clock.now();
      warning = `${e.message} — keeping the ${client.stats.held} decisions already enforced, retrying`;
      log.warn({ feed: cfg.name, err: e.message }, 'crowdsec LAPI unreachable or refused; keeping current decisions');
      events.publish('feeds.refused', { feed: cfg.name, outcome: 'failed', message: warning });
    },
  });
  client.start();

  const status = (): FeedStatus => {
    const s = client.stats;
    return {
      name: cfg.name,
      type: 'crowdsec',
      direction: cfg.direction,
      source: cfg.url,
      entries: decisions.count({ origin }),
      skipped: Object.values(s.skipped).reduce((a: number, b) => a + (typeof b === 'number' ? b : 0), refused),
      lastAttemptAt,
      lastSuccessAt: s.lastSuccessAt ?? null,
      nextRunAt: lastAttemptAt !== null ? lastAttemptAt + cfg.refresh : null,
      warning,
    };
  };

  return {
    name: cfg.name,
    status,
    async refresh() {
      client.requestResync();
      // In turn with the scheduled polls; the update goes to onUpdate, a failure to onError (the warning).
      await client.pollNow();
      return status();
    },
    stop: () => client.stop(),
  };
}
