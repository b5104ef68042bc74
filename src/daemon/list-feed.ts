import type { FileFeedConfig, UrlFeedConfig } from '../config/index.js';
import type { DecisionService } from '../decisions/service.js';
import { FeedRunner, type FeedSpec, type FetchState, type RefreshReport } from '../feeds/index.js';
import { feedOrigin, type FeedLog } from './crowdsec-feed.js';
import type { FeedStatus, RunningFeed } from './feed-status.js';

export function feedSpecFrom(cfg: UrlFeedConfig | FileFeedConfig): FeedSpec {
  return {
    name: cfg.name,
    type: cfg.type,
    ...(cfg.type === 'url' ? { url: cfg.url } : { path: cfg.path }),
    format: cfg.format,
    minScore: cfg.min_score,
    direction: cfg.direction,
    refresh: cfg.refresh,
    maxShrink: cfg.max_shrink,
    timeout: cfg.timeout,
  };
}

/**
 * A downloaded or local list on a schedule. Its entries become decisions of origin `feed:<name>` that
 * stay until a later accepted refresh drops them: a failed, empty or truncated download changes nothing.
 */
export function startListFeed(cfg: UrlFeedConfig | FileFeedConfig, decisions: DecisionService, log: FeedLog): RunningFeed {
  const spec = feedSpecFrom(cfg);
  const origin = feedOrigin(cfg.name);
  const reason = `listed by feed ${cfg.name}`;
  let state: FetchState = {};
  let lastAttemptAt: number | null = null;
  let lastSuccessAt: number | null = null;
  let nextRunAt: number | null = Date.now();
  let warning: string | null = null;
  let skipped = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const runner = new FeedRunner({
    current: () => decisions.valuesOf(origin),
    apply: async ({ diff }) => {
      if (diff.added.length > 0) {
        decisions.addMany(diff.added.map((t) => ({ value: t.text, target: t, origin, direction: cfg.direction, reason, scenario: cfg.format })));
      }
      decisions.deleteValues(origin, diff.removed);
    },
  });

  const status = (): FeedStatus => ({
    name: cfg.name,
    type: cfg.type,
    direction: cfg.direction,
    source: cfg.type === 'url' ? cfg.url : cfg.path,
    entries: decisions.count({ origin }),
    skipped,
    lastAttemptAt,
    lastSuccessAt,
    nextRunAt,
    warning,
  });

  const refresh = async (): Promise<FeedStatus> => {
    lastAttemptAt = Date.now();
    const r: RefreshReport = await runner.refresh(spec, state);
    state = r.state;
    if (r.outcome === 'applied' || r.outcome === 'not_modified') {
      lastSuccessAt = Date.now();
      warning = null;
      if (r.outcome === 'applied') skipped = r.parsed.skipped;
      log.info({ feed: cfg.name, outcome: r.outcome }, r.message);
    } else {
      // Refused or failed: the previous decisions stay enforced; the admin sees why in `feeds list`.
      warning = r.message;
      if (r.outcome === 'refused') skipped = r.parsed.skipped;
      log.warn({ feed: cfg.name, outcome: r.outcome }, r.message);
    }
    return status();
  };

  const schedule = (ms: number) => {
    if (stopped) return;
    nextRunAt = Date.now() + ms;
    timer = setTimeout(() => {
      void refresh().finally(() => schedule(cfg.refresh));
    }, ms);
    timer.unref();
  };
  schedule(0);

  return {
    name: cfg.name,
    status,
    refresh,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
