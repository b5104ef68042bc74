import type { Family } from '../net/ip.js';
import { durationProblem, expiryAfter } from './expiry.js';
import { DIRECTIONS, type AllowEntry, type Decision, type Direction } from './types.js';

/** The decision store's rows and the checks every write applies to its text fields. */

export interface DecisionRow {
  id: number;
  value: string;
  family: number;
  prefix: number;
  origin: string;
  scenario: string;
  reason: string;
  direction: string;
  created_at: number;
  expires_at: number | null;
}

export interface AllowRow {
  id: number;
  value: string;
  family: number;
  prefix: number;
  reason: string;
  created_at: number;
  expires_at: number | null;
}

export class InputError extends Error {
  override name = 'InputError';
}

export const DECISION_COLS = 'id, value, family, prefix, origin, scenario, reason, direction, created_at, expires_at';
export const MAX_SAMPLES = 10;
export const MAX_TEXT = 512;

export function toDecision(r: DecisionRow): Decision {
  const family = r.family as Family;
  return {
    id: r.id,
    value: r.value,
    family,
    prefix: r.prefix,
    scope: r.prefix === (family === 4 ? 32 : 128) ? 'ip' : 'range',
    type: 'ban',
    origin: r.origin,
    reason: r.reason,
    scenario: r.scenario,
    direction: r.direction as Direction,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  };
}

export function toAllow(r: AllowRow): AllowEntry {
  return {
    id: r.id,
    value: r.value,
    family: r.family as Family,
    prefix: r.prefix,
    reason: r.reason,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  };
}

export function cleanText(s: string | undefined, what: string): string {
  const t = (s ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if (t.length > MAX_TEXT) throw new InputError(`${what} is longer than ${MAX_TEXT} characters`);
  return t;
}

/** cleanText for a batch where most lines share origin, scenario and reason: cleans each distinct text once. */
export function memoClean(): (s: string | undefined, what: string) => string {
  const seen = new Map<string, string>();
  return (s, what) => {
    const key = s ?? '';
    let v = seen.get(key);
    if (v === undefined) {
      v = cleanText(s, what);
      if (seen.size < 1000) seen.set(key, v);
    }
    return v;
  };
}

export function checkDirection(d: Direction | undefined): Direction {
  const dir = d ?? 'both';
  if (!DIRECTIONS.includes(dir)) throw new InputError(`direction must be inbound, outbound or both, not ${JSON.stringify(d)}`);
  return dir;
}

/** Refuses durations that are not a positive finite number; clamps absurd ones (see expiry.ts). */
export function expiryFrom(durationSec: number | null | undefined, now: number): number | null {
  const why = durationProblem(durationSec);
  if (why !== undefined) throw new InputError(why);
  return expiryAfter(durationSec, now);
}
