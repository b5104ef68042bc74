import { formatDuration } from '../config/index.js';
import { addInChunks, SORTED_CHUNK, type BulkKernel, type BulkTarget, type NewDecision } from '../decisions/index.js';
import type { FileFeedConfig, UrlFeedConfig } from './config.js';
import type { FeedSpec } from './types.js';
import type { FetchState } from './fetch.js';
import { FeedRunner, type RefreshReport } from './runner.js';
import { inTextOrder } from './text-order.js';
import type { Target } from '../net/ip.js';
import { localChecker } from '../net/target-guard.js';
import { feedOrigin, type FeedDeps, type FeedProgress, type FeedStatus, type RunningFeed } from './status.js';

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

/** The kernel side of a feed load: preloading each chunk's addresses, and waiting until it holds them all. */
export interface FeedKernel extends BulkKernel {
  /** Resolves once everything handed to the firewall so far is in the kernel. */
  readonly enforced?: () => Promise<void>;
  /** Lines per store transaction (tests use small ones). */
  readonly chunkSize?: number;
}

/**
 * The decisions for a feed's added entries, made one at a time as the store pulls them: with a million
 * entries only one chunk of NewDecision objects (and of their texts) is alive at once.
 */
export function* feedDecisions(added: Iterable<Target>, base: Pick<NewDecision, 'origin' | 'direction' | 'reason' | 'scenario'>): Generator<NewDecision> {
  for (const target of added) {
    // Spelled out rather than spread: a million spreads cost seconds.
    yield { value: target.text, target, origin: base.origin, direction: base.direction, reason: base.reason, scenario: base.scenario };
  }
}

/**
 * The feed's warning, plus a staleness note once the last good refresh is older than `staleAfterMs` (the
 * feed's `duration`). Entries stay enforced regardless, so a dead feed never unblocks anything; the admin
 * is told the list is getting old instead.
 */
export function withStaleness(warning: string | null, lastSuccessAt: number | null, staleAfterMs: number, now: number): string | null {
  if (lastSuccessAt === null || now - lastSuccessAt <= staleAfterMs) return warning;
  const ago = now - lastSuccessAt;
  // Whole seconds: "for 13h2m5s", not a millisecond count that changes on every `feeds list`.
  const note = `stale: no successful refresh for ${formatDuration(ago < 1000 ? ago : Math.floor(ago / 1000) * 1000)} (duration ${formatDuration(staleAfterMs)})`;
  return warning ? `${warning}; ${note}` : note;
}

/**
 * A downloaded or local list on a schedule. Its entries become decisions of origin `feed:<name>` that
 * stay until a later accepted refresh drops them: a failed, empty or truncated download changes nothing.
 */
export function startListFeed(cfg: UrlFeedConfig | FileFeedConfig, deps: FeedDeps, kernel: FeedKernel = {}): RunningFeed {
  const { decisions, log, network, events } = deps;
  const clock = deps.scheduler.clock;
  const spec = feedSpecFrom(cfg);
  const origin = feedOrigin(cfg.name);
  const reason = `listed by feed ${cfg.name}`;
  let state: FetchState = {};
  let lastAttemptAt: number | null = null;
  let lastSuccessAt: number | null = null;
  let warning: string | null = null;
  let skipped = 0;
  /**
   * Entries as of the last accepted refresh. Counting a million rows in the store costs most of a second,
   * and `feeds list` asks for every feed; after a failed apply the store is asked again.
   */
  let entries: number | undefined;
  /** What the store should hold for this feed: the entry count of the last accepted list. */
  let expected: number | undefined;
  // Someone else (a watcher, an admin delete by origin or value) may remove this feed's decisions: the
  // cached count is then wrong, and the next refresh must put them back.
  const unsubscribe = events.subscribe('decisions.changed', (c) => {
    if (c.removedValues.length > 0) entries = undefined;
  }, `feed ${cfg.name} entry count`);
  let progress: FeedProgress | undefined;

  const runner = new FeedRunner({
    fetchOptions: { onProgress: (bytes, total) => (progress = { phase: 'downloading', bytes, ...(total !== undefined ? { total } : {}) }) },
    current: () => decisions.valuesOf(origin),
    // Feeds already leave out special space; a LAN or gateway address in public space is left out too.
    exclude: () => (network ? localChecker(network()) : undefined),
    apply: async ({ diff }) => {
      progress = { phase: 'applying', added: diff.added.length, removed: diff.removed.length };
      // Additions first, in chunks of one transaction each: a store failure halfway leaves the previous
      // entries in place (nothing is removed yet) and the next refresh diffs against what did get in.
      if (diff.added.length > 0) {
        const { preload, discardPreload, waitForKernel } = kernel;
        const target: BulkTarget = { decisions, preload, discardPreload, waitForKernel };
        const base = { origin, direction: cfg.direction, reason, scenario: cfg.format };
        await addInChunks(target, feedDecisions(inTextOrder(diff.added), base), kernel.chunkSize ?? SORTED_CHUNK);
      }
      decisions.deleteValues(origin, diff.removed);
      // `feeds refresh` answers "done" only when the kernel enforces the new list.
      await kernel.enforced?.();
    },
  });

  const status = (): FeedStatus => ({
    name: cfg.name,
    type: cfg.type,
    direction: cfg.direction,
    source: cfg.type === 'url' ? cfg.url : cfg.path,
    entries: (entries ??= decisions.count({ origin })),
    skipped,
    lastAttemptAt,
    lastSuccessAt,
    nextRunAt: job.nextRunAt,
    warning: withStaleness(warning, lastSuccessAt, cfg.duration, clock.now()),
    ...(progress ? { progress } : {}),
  });

  const refresh = async (): Promise<void> => {
    lastAttemptAt = clock.now();
    let r: RefreshReport = await runner.refresh(spec, state).finally(() => (progress = undefined));
    if (r.outcome === 'not_modified' && expected !== undefined) {
      // An unchanged list does not mean an unchanged store: reload it in full when decisions went missing.
      const held = decisions.count({ origin });
      if (held !== expected) {
        log.warn({ feed: cfg.name, held, expected }, `feed ${cfg.name}: the store holds ${held} of its ${expected} entries (changed another way); reloading the list`);
        r = await runner.refresh(spec, {}).finally(() => (progress = undefined));
      }
    }
    state = r.state;
    if (r.outcome === 'applied' || r.outcome === 'not_modified') {
      lastSuccessAt = clock.now();
      warning = null;
      if (r.outcome === 'applied') {
        skipped = r.parsed.skipped;
        entries = r.entries;
        expected = r.entries;
      }
      log.info({ feed: cfg.name, outcome: r.outcome }, r.message);
      events.publish('feeds.refreshed', { feed: cfg.name, outcome: r.outcome, entries: entries ?? expected, message: r.message });
    } else {
      // Refused or failed: the previous decisions stay enforced; the admin sees why in `feeds list`.
      warning = r.message;
      if (r.outcome === 'failed') entries = undefined;
      if (r.outcome === 'refused') skipped = r.parsed.skipped;
      log.warn({ feed: cfg.name, outcome: r.outcome }, r.message);
      events.publish('feeds.refused', { feed: cfg.name, outcome: r.outcome, message: r.message });
    }
  };

  // First refresh right away, then every `refresh` after the previous one ended; `feeds refresh` runs it now.
  const job = deps.scheduler.every(`refresh feed ${cfg.name}`, cfg.refresh, refresh, { firstRunInMs: 0 });

  return {
    name: cfg.name,
    status,
    async refresh() {
      await job.runNow();
      return status();
    },
    async stop() {
      unsubscribe();
      // Not waiting for a refresh in progress (a download can take minutes): it finds the feed stopped.
      void job.stop();
    },
  };
}
