import type { Decision } from '../../decisions/index.js';
import type { ActivePageQuery, ActiveRow } from './decision-reads.js';
import { parseToken } from '../../net/fast-target.js';
import { covers, tryParseTarget, type Target } from '../../net/ip.js';
import { matchesFields, type DecisionSelector } from './query.js';
import { decisionJson, FOREVER_MS, StringCache, wireDecision } from './wire.js';

/**
 * Active decisions in id order after `afterId`, at most `limit`, as row arrays. Each call reads one page
 * synchronously, so big answers go page by page with the event loop free in between (a better-sqlite3
 * iterator left open across an await would block every other statement on the connection).
 * LapiDecisionReads.activePage fits: `(q) => reads.activePage(q)`.
 */
export type ActivePages = (q: ActivePageQuery) => readonly ActiveRow[];

/**
 * Rows read and rendered in one synchronous step. 10,000 took 30–60 ms on a busy 2-core router (plus the
 * GC of the page), a stall every poll and API request sharing the thread waited out; 2,000 keeps a step
 * near 10 ms and costs the stream nothing measurable (the next page is an index seek).
 */
export const PAGE_SIZE = 2_000;

/** True for a value fully covered by an allow entry (the allowlist wins, also for our bouncers). */
export type AllowCheck = (value: string) => boolean;

export function allowCheckFrom(allowValues: readonly string[]): AllowCheck | undefined {
  const allow = allowValues.map((v) => tryParseTarget(v)).filter((t): t is Target => t !== undefined);
  if (allow.length === 0) return undefined;
  return (value) => {
    // Stream values are canonical already; parseToken's IPv4 path keeps this cheap per row.
    const t = parseToken(value);
    return t !== undefined && allow.some((a) => covers(a, t));
  };
}

export interface ActiveStreamOptions {
  readonly selector: DecisionSelector;
  /** Keep one decision per value (the longest-lived), as CrowdSec does unless `dedup=false`. */
  readonly dedup: boolean;
  readonly now: number;
  readonly allowed?: AllowCheck;
  readonly pageSize?: number;
  /** Values that may have more than one decision (LapiDecisionReads.sharedValues); needed with dedup. */
  readonly shared?: ReadonlySet<string>;
}

/** The narrowest store filter the selector allows; the rest is checked here. */
function storeFilter(s: DecisionSelector): Pick<ActivePageQuery, 'scope' | 'origin'> {
  const scope = s.scopes && s.scopes.has('ip') !== s.scopes.has('range') ? (s.scopes.has('ip') ? 'ip' : 'range') : undefined;
  const origin = s.origins && s.origins.size === 1 ? [...s.origins][0] : undefined;
  return { ...(scope ? { scope } : {}), ...(origin !== undefined ? { origin } : {}) };
}

/**
 * Yields the JSON array of active decisions in chunks of one page each: `[`…`]`, or `null` when there is
 * none. Dedup is streaming: a later duplicate is sent only if it outlives the one already sent (the
 * bouncer keeps the longest, so the result is the same as CrowdSec's one-per-value), and only values the
 * store says are shared are tracked, so a million unique values cost no Map.
 */
export async function* activeDecisionsJson(pages: ActivePages, o: ActiveStreamOptions): AsyncGenerator<string> {
  const cache = new StringCache();
  const base = storeFilter(o.selector);
  const sent = o.dedup ? new Map<string, number>() : undefined;
  const shared = o.shared;
  const limit = o.pageSize ?? PAGE_SIZE;
  const now = o.now;
  const plain = isPlainSelector(o.selector);
  let afterId = 0;
  let any = false;
  for (;;) {
    const rows = pages({ ...base, afterId, limit });
    const parts: string[] = [];
    for (const r of rows) {
      const scope = r[2] === 1 ? 'range' : 'ip';
      const scenario = r[4]; // the row's headline is wire.ts wireScenario
      if (!plain && !matchesFields(o.selector, scope, r[3], 'ban', scenario)) continue;
      if (o.allowed?.(r[1])) continue;
      const left = r[5] === null ? FOREVER_MS : r[5] - now;
      if (left <= 0) continue;
      if (sent && (shared === undefined || shared.has(r[1]))) {
        const prev = sent.get(r[1]);
        if (prev !== undefined && prev >= left) continue;
        sent.set(r[1], left);
      }
      parts.push(wireDecision(cache, left, r[0], r[3], scenario, scope === 'ip' ? 'Ip' : 'Range', r[1]));
    }
    if (parts.length > 0) {
      yield (any ? ',' : '[') + parts.join(',');
      any = true;
    }
    if (rows.length < limit) break;
    afterId = rows[rows.length - 1]![0];
    // Let delta polls and writes in between: each page is a few milliseconds of synchronous work.
    await new Promise<void>((r) => setImmediate(r));
  }
  yield any ? ']' : 'null';
}

/** The default bouncer query (scopes ip,range and nothing else) lets every row of ours through. */
function isPlainSelector(s: DecisionSelector): boolean {
  return (
    (s.scopes === undefined || (s.scopes.has('ip') && s.scopes.has('range'))) &&
    s.origins === undefined &&
    (s.types === undefined || s.types.has('ban')) &&
    s.scenariosContaining === undefined &&
    s.scenariosNotContaining === undefined
  );
}

/** Joins decision JSON texts of a small list (deltas), deduplicating by value to the longest-lived. */
export function smallListJson(ds: readonly Decision[], durationOf: (d: Decision) => number, dedup: boolean): string {
  const cache = new StringCache();
  const best = new Map<string, { d: Decision; ms: number }>();
  const out: { d: Decision; ms: number }[] = [];
  for (const d of ds) {
    const ms = durationOf(d);
    if (!dedup) {
      out.push({ d, ms });
      continue;
    }
    const prev = best.get(d.value);
    if (!prev || ms > prev.ms) best.set(d.value, { d, ms });
  }
  const list = dedup ? [...best.values()].sort((a, b) => a.d.id - b.d.id) : out;
  return list.length === 0 ? 'null' : `[${list.map((x) => decisionJson(x.d, x.ms, cache)).join(',')}]`;
}
