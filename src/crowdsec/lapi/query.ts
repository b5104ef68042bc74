import type { Decision } from '../../decisions/index.js';

/**
 * Query parameters of the bouncer endpoints, parsed once per request into a plain predicate.
 * CrowdSec semantics: `scopes`/`scope` compare case-insensitively ("ip" matches "Ip"); `origins` is an
 * exact CSV list; `scenarios_containing` / `scenarios_not_containing` are case-insensitive substrings
 * OR-ed together.
 */
export interface DecisionSelector {
  /** Lower-case scope names; undefined = any. */
  readonly scopes?: ReadonlySet<string>;
  readonly origins?: ReadonlySet<string>;
  readonly scenariosContaining?: readonly string[];
  readonly scenariosNotContaining?: readonly string[];
  /** Lower-case decision types; undefined = any. */
  readonly types?: ReadonlySet<string>;
}

export interface StreamQuery {
  readonly startup: boolean;
  readonly dedup: boolean;
  readonly selector: DecisionSelector;
}

export type RawQuery = Readonly<Record<string, string | readonly string[] | undefined>>;

/** A parameter given once or repeated (?origins=a&origins=b) as one CSV list. */
function csv(q: RawQuery, key: string): string[] | undefined {
  const v = q[key];
  if (v === undefined) return undefined;
  const all = (typeof v === 'string' ? [v] : v).flatMap((s) => s.split(','));
  const items = all.map((s) => s.trim()).filter((s) => s.length > 0);
  return items.length > 0 ? items : undefined;
}

function bool(q: RawQuery, key: string, dflt: boolean): boolean {
  const v = q[key];
  const s = (typeof v === 'string' ? v : v?.[0])?.trim().toLowerCase();
  if (s === undefined || s === '') return dflt;
  return s === 'true' || s === '1' || s === 't' || s === 'yes';
}

export function first(q: RawQuery, key: string): string | undefined {
  const v = q[key];
  const s = typeof v === 'string' ? v : v?.[0];
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

function selectorFrom(q: RawQuery, defaultScopes: readonly string[] | undefined): DecisionSelector {
  const scopes = csv(q, 'scopes') ?? csv(q, 'scope') ?? defaultScopes;
  const origins = csv(q, 'origins') ?? csv(q, 'origin');
  const types = csv(q, 'type');
  return {
    scopes: scopes ? new Set(scopes.map((s) => s.toLowerCase())) : undefined,
    origins: origins ? new Set(origins) : undefined,
    scenariosContaining: csv(q, 'scenarios_containing')?.map((s) => s.toLowerCase()),
    scenariosNotContaining: csv(q, 'scenarios_not_containing')?.map((s) => s.toLowerCase()),
    types: types ? new Set(types.map((s) => s.toLowerCase())) : undefined,
  };
}

/** `GET /v1/decisions/stream`: scopes default to `ip,range` like CrowdSec. */
export function parseStreamQuery(q: RawQuery): StreamQuery {
  return { startup: bool(q, 'startup', false), dedup: bool(q, 'dedup', true), selector: selectorFrom(q, ['ip', 'range']) };
}

/** `GET /v1/decisions`: every scope unless asked. */
export function parseDecisionsSelector(q: RawQuery): DecisionSelector {
  return selectorFrom(q, undefined);
}

export function matches(d: Decision, s: DecisionSelector, scenario: string): boolean {
  return matchesFields(s, d.scope, d.origin, d.type, scenario);
}

/** `matches` on loose fields, for rows read without building a Decision. */
export function matchesFields(s: DecisionSelector, scope: string, origin: string, type: string, scenario: string): boolean {
  if (s.scopes && !s.scopes.has(scope)) return false;
  if (s.origins && !s.origins.has(origin)) return false;
  if (s.types && !s.types.has(type)) return false;
  if (s.scenariosContaining || s.scenariosNotContaining) {
    const sc = scenario.toLowerCase();
    if (s.scenariosContaining && !s.scenariosContaining.some((p) => sc.includes(p))) return false;
    if (s.scenariosNotContaining && s.scenariosNotContaining.some((p) => sc.includes(p))) return false;
  }
  return true;
}

/** True when no decision of ours (scope ip/range, type ban) can match: saves the store a full scan. */
export function matchesNothing(s: DecisionSelector): boolean {
  if (s.scopes && !s.scopes.has('ip') && !s.scopes.has('range')) return true;
  if (s.types && !s.types.has('ban')) return true;
  return false;
}

/** The first of `keys` given with an empty value (`?scenario=`): an empty filter is no filter, so it is refused. */
export function emptyFilterKey(q: RawQuery, keys: readonly string[]): string | undefined {
  return keys.find((k) => {
    const v = q[k];
    return v !== undefined && (typeof v === 'string' ? [v] : v).some((s) => s.trim() === '');
  });
}
