import type { Decision, DecisionFilter } from '../../decisions/types.js';
import { covers, tryParseTarget, type Target } from '../../net/ip.js';
import { matches, type DecisionSelector } from './query.js';
import { decisionJson, remainingMs, StringCache, wireScenario } from './wire.js';

/**
 * Active decisions in id order after `afterId`, at most `limit`. The call must finish synchronously:
 * a better-sqlite3 iterator left open across an await would block every other statement on the
 * connection, so big answers are read page by page (keyset on id) with the event loop free in between.
 * DecisionService.iterateActive fits: `(f) => service.iterateActive(f)`.
 */
export type ActivePages = (filter: DecisionFilter & { afterId: number; limit: number }) => Iterable<Decision>;

export const PAGE_SIZE = 5000;

/** Rejects decisions fully covered by an allow entry (the allowlist wins, also for our bouncers). */
export type AllowCheck = (d: Decision) => boolean;

export function allowCheckFrom(allowValues: readonly string[]): AllowCheck | undefined {
  const allow = allowValues.map((v) => tryParseTarget(v)).filter((t): t is Target => t !== undefined);
  if (allow.length === 0) return undefined;
  return (d) => {
    const t = tryParseTarget(d.value);
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
}

/** The narrowest store filter the selector allows; the rest is checked here. */
function storeFilter(s: DecisionSelector): Pick<DecisionFilter, 'scope' | 'origin'> {
  const scope = s.scopes && s.scopes.has('ip') !== s.scopes.has('range') ? (s.scopes.has('ip') ? 'ip' : 'range') : undefined;
  const origin = s.origins && s.origins.size === 1 ? [...s.origins][0] : undefined;
  return { ...(scope ? { scope } : {}), ...(origin !== undefined ? { origin } : {}) };
}

/**
 * Yields the JSON array of active decisions in chunks of one page each: `[`…`]`, or `null` when there is
 * none. Dedup is streaming: a later duplicate is sent only if it outlives the one already sent (the
 * bouncer keeps the longest, so the result is the same as CrowdSec's one-per-value, at no buffering cost).
 */
export async function* activeDecisionsJson(pages: ActivePages, o: ActiveStreamOptions): AsyncGenerator<string> {
  const cache = new StringCache();
  const base = storeFilter(o.selector);
  const sent = o.dedup ? new Map<string, number>() : undefined;
  const limit = o.pageSize ?? PAGE_SIZE;
  let afterId = 0;
  let any = false;
  for (;;) {
    const parts: string[] = [];
    let rows = 0;
    for (const d of pages({ ...base, afterId, limit })) {
      rows++;
      afterId = d.id;
      if (!matches(d, o.selector, wireScenario(d))) continue;
      if (o.allowed?.(d)) continue;
      const left = remainingMs(d, o.now);
      if (left <= 0) continue;
      if (sent) {
        const prev = sent.get(d.value);
        if (prev !== undefined && prev >= left) continue;
        sent.set(d.value, left);
      }
      parts.push(decisionJson(d, left, cache));
    }
    if (parts.length > 0) {
      yield (any ? ',' : '[') + parts.join(',');
      any = true;
    }
    if (rows < limit) break;
    // Let delta polls and writes in between: each page is a few milliseconds of synchronous work.
    await new Promise<void>((r) => setImmediate(r));
  }
  yield any ? ']' : 'null';
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
