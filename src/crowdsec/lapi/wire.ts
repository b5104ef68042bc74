import type { Decision } from '../../decisions/types.js';
import { formatDuration as formatGoDuration } from '../../config/duration.js';

/**
 * Bouncer-facing decision JSON, byte-compatible with CrowdSec 1.4.6 (captures 20-…, 30-…): keys in Go's
 * struct order `duration,id,origin,scenario,scope,type,value`, no `until`/`simulated`, scope spelled
 * "Ip"/"Range", duration = Go text of the time left (negative once deleted or expired).
 * Built with template strings: a million of these must serialise in well under a second.
 */

/**
 * Duration sent for a decision without expiry. CrowdSec has none such, and bouncers turn the duration
 * into an nft/ipset timeout, so it must be finite: ten years, re-sent on every startup stream.
 */
export const FOREVER_MS = 10 * 365 * 24 * 3_600_000;

export function wireScope(d: Decision): 'Ip' | 'Range' {
  return d.scope === 'ip' ? 'Ip' : 'Range';
}

/** The alert reason bouncers show and filter on (scenarios_containing); ours falls back to reason, origin. */
export function wireScenario(d: Decision): string {
  return d.scenario || d.reason || d.origin;
}

const GO_ESCAPES = /[<>&\u2028\u2029]/g;
const GO_ESCAPE_MAP: Readonly<Record<string, string>> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/**
 * JSON text the way Go's encoding/json writes it: <, >, &, U+2028 and U+2029 escaped (HTML-safe, e.g. "=>" →
 * "=\u003e"). JSON.stringify output never has them outside strings, so the whole text can be escaped at once.
 */
export function goJson(json: string): string {
  return GO_ESCAPES.test(json) ? json.replace(GO_ESCAPES, (c) => GO_ESCAPE_MAP[c]!) : json;
}

/** A JSON string the way Go's encoding/json writes it (see goJson). */
export function goJsonString(s: string): string {
  return goJson(JSON.stringify(s));
}

/** Few distinct origins and scenarios occur in a big stream: escape each once. */
export class StringCache {
  private readonly m = new Map<string, string>();
  private readonly durations = new Map<number, string>();
  /** Decisions imported together share one expiry, so a big stream formats few distinct durations. */
  duration(ms: number): string {
    let v = this.durations.get(ms);
    if (v === undefined) {
      v = formatGoDuration(ms);
      if (this.durations.size < 100_000) this.durations.set(ms, v);
    }
    return v;
  }
  get(s: string): string {
    let v = this.m.get(s);
    if (v === undefined) {
      v = goJsonString(s);
      if (this.m.size < 10_000) this.m.set(s, v);
    }
    return v;
  }
}

export function remainingMs(d: Decision, now: number): number {
  return d.expiresAt === null ? FOREVER_MS : d.expiresAt - now;
}

/**
 * Duration for a decision in a `deleted` list: negative like CrowdSec's. The store does not expose when a
 * decision was deleted, so one deleted before its expiry gets a token "-1ms" (bouncers only read the value).
 */
export function deletedDurationMs(d: Decision, now: number): number {
  return d.expiresAt !== null && d.expiresAt <= now ? d.expiresAt - now : -1;
}

export function decisionJson(d: Decision, durationMs: number, cache: StringCache): string {
  return wireDecision(cache, durationMs, d.id, d.origin, wireScenario(d), wireScope(d), d.value);
}

/**
 * The one place the bouncer JSON of a decision is written. Loose arguments, not an object: the startup
 * stream calls it for each of a million rows. `value` is a canonical IP/CIDR and needs no escaping.
 */
export function wireDecision(cache: StringCache, durationMs: number, id: number, origin: string, scenario: string, scope: 'Ip' | 'Range', value: string): string {
  return `{"duration":"${cache.duration(durationMs)}","id":${id},"origin":${cache.get(origin)},"scenario":${cache.get(scenario)},"scope":"${scope}","type":"ban","value":"${value}"}`;
}

/** `[a,b]` or `null` for an empty list, as Go marshals a nil slice. */
export function jsonList(items: readonly string[]): string {
  return items.length === 0 ? 'null' : `[${items.join(',')}]`;
}
