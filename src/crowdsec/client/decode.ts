import { tryParseTarget } from '../../net/ip.js';
import { tryParseDuration } from '../../config/index.js';
import type { Direction, NewDecision } from '../../decisions/index.js';

/** One decision as a LAPI sends it on /v1/decisions/stream (fields we read; the rest is ignored). */
export interface LapiDecision {
  readonly duration: string;
  readonly id?: number;
  readonly origin: string;
  readonly scenario: string;
  readonly scope: string;
  readonly type: string;
  readonly value: string;
}

/** What was skipped in one response, by cause; malformed = not a decision object we can read at all. */
export interface DecodeCounts {
  malformed: number;
  /** Scopes other than Ip/Range (username, Country, AS…): valid CrowdSec, nothing a firewall can hold. */
  otherScope: number;
  /** Types we were not asked for (captcha when only ban is wanted). */
  otherType: number;
  /** In `new` with a negative remaining duration: already expired, handled as deleted. */
  expiredInNew: number;
}

export interface DecodedStream {
  /** Active decisions by canonical value (the longest one wins when a value appears twice). */
  readonly added: Map<string, NewDecision>;
  /** Canonical values the LAPI reports deleted/expired (or sent in `new` already expired). */
  readonly deleted: Set<string>;
  readonly counts: DecodeCounts;
}

export interface DecodeOptions {
  /** Decision types to keep, lower case; default ['ban']. */
  readonly types?: readonly string[];
  readonly direction?: Direction;
  /** Origin stamped on produced decisions; default 'crowdsec'. */
  readonly origin?: string;
}

export class LapiResponseError extends Error {
  override name = 'LapiResponseError';
}

const MAX_FIELD = 512;

function str(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' && v.length <= MAX_FIELD ? v : undefined;
}

/** Reads one array entry; undefined when malformed. */
export function readLapiDecision(x: unknown): LapiDecision | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return undefined;
  const o = x as Record<string, unknown>;
  const duration = str(o, 'duration');
  const scope = str(o, 'scope');
  const value = str(o, 'value');
  const type = str(o, 'type');
  if (duration === undefined || scope === undefined || value === undefined || type === undefined) return undefined;
  const id = typeof o.id === 'number' && Number.isSafeInteger(o.id) ? o.id : undefined;
  return { duration, scope, value, type, origin: str(o, 'origin') ?? '', scenario: str(o, 'scenario') ?? '', ...(id !== undefined ? { id } : {}) };
}

/** `crowdsec: <scenario> (<origin>)`, e.g. "crowdsec: crowdsecurity/ssh-bf (CAPI)". */
export function reasonFor(d: Pick<LapiDecision, 'scenario' | 'origin'>): string {
  const scenario = d.scenario || 'unknown scenario';
  return d.origin ? `crowdsec: ${scenario} (${d.origin})` : `crowdsec: ${scenario}`;
}

type Classified =
  | { kind: 'active'; value: string; decision: NewDecision; ms: number }
  | { kind: 'expired'; value: string }
  | { kind: 'skip'; why: keyof DecodeCounts };

function classify(raw: unknown, types: ReadonlySet<string>, opts: DecodeOptions): Classified {
  const d = readLapiDecision(raw);
  if (!d) return { kind: 'skip', why: 'malformed' };
  const scope = d.scope.toLowerCase();
  if (scope !== 'ip' && scope !== 'range') return { kind: 'skip', why: 'otherScope' };
  if (!types.has(d.type.toLowerCase())) return { kind: 'skip', why: 'otherType' };
  const t = tryParseTarget(d.value);
  // An `Ip` scope carrying a real range (not /32 or /128) is inconsistent: refuse rather than ban a network.
  if (!t || (scope === 'ip' && !t.isHost)) return { kind: 'skip', why: 'malformed' };
  const ms = tryParseDuration(d.duration);
  if (ms === undefined) return { kind: 'skip', why: 'malformed' };
  if (ms <= 0) return { kind: 'expired', value: t.text };
  const decision: NewDecision = {
    value: t.text,
    origin: opts.origin ?? 'crowdsec',
    scenario: d.scenario,
    reason: reasonFor(d),
    durationSec: Math.max(1, Math.ceil(ms / 1000)),
    ...(opts.direction ? { direction: opts.direction } : {}),
  };
  return { kind: 'active', value: t.text, decision, ms };
}

/**
 * Decodes a parsed stream body `{new, deleted}`; either may be null (LAPI 1.4.x) or missing. Entries we cannot
 * use are skipped and counted, never fatal; only a body that is not an object at all throws.
 */
export function decodeStream(body: unknown, opts: DecodeOptions = {}): DecodedStream {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new LapiResponseError(`stream response is not a JSON object (got ${body === null ? 'null' : Array.isArray(body) ? 'array' : typeof body})`);
  }
  const o = body as Record<string, unknown>;
  const types = new Set((opts.types ?? ['ban']).map((t) => t.toLowerCase()));
  const counts: DecodeCounts = { malformed: 0, otherScope: 0, otherType: 0, expiredInNew: 0 };
  const added = new Map<string, NewDecision>();
  const addedMs = new Map<string, number>();
  const deleted = new Set<string>();

  for (const key of ['new', 'deleted'] as const) {
    const arr = o[key];
    if (arr === undefined || arr === null) continue;
    if (!Array.isArray(arr)) throw new LapiResponseError(`stream response field "${key}" is neither an array nor null`);
    for (const raw of arr) {
      const c = classify(raw, types, opts);
      if (c.kind === 'skip') {
        counts[c.why]++;
      } else if (key === 'deleted' || c.kind === 'expired') {
        if (key === 'new') counts.expiredInNew++;
        deleted.add(c.value);
      } else {
        const prev = addedMs.get(c.value);
        if (prev === undefined || c.ms > prev) {
          added.set(c.value, c.decision);
          addedMs.set(c.value, c.ms);
        }
      }
    }
  }
  // A value both deleted (an older decision) and active (a newer one) in one response stays active.
  for (const v of added.keys()) deleted.delete(v);
  return { added, deleted, counts };
}
