import type { AddressUsage } from '../types.js';
import { counterSet, DIRECTIONS, FAMS, parseQuotaName, quotaMap } from './names.js';
import type { Listing } from './ops.js';

/**
 * A quota rule drops the packet that crosses the limit, and the counter after it counts only what passed:
 * a spent quota leaves the counter short of the limit by less than one packet — with GRO/GSO up to 64 KiB.
 */
export const SPENT_SLACK_BYTES = 65_536;

/** Bytes per address from the four counter sets. */
export function usageFrom(listing: Listing): AddressUsage[] {
  const by = new Map<string, { down: number; up: number }>();
  for (const d of DIRECTIONS) {
    for (const f of FAMS) {
      for (const e of listing.get(counterSet(d, f)) ?? []) {
        const ip = e.key[0];
        if (ip === undefined) continue;
        const u = by.get(ip) ?? { down: 0, up: 0 };
        u[d] += e.counter?.bytes ?? 0;
        by.set(ip, u);
      }
    }
  }
  return [...by].map(([ip, u]) => ({ ip, down: u.down, up: u.up }));
}

/**
 * Quotas whose addresses together passed (limit − slack) bytes. The limit is read from the quota's name
 * (see quotaName), the session from the caller's memory of the hashes it granted.
 */
export function spentFrom(listing: Listing, sessionOf: (hash: string) => string | undefined): { sessionId: string; direction: 'down' | 'up' }[] {
  const out: { sessionId: string; direction: 'down' | 'up' }[] = [];
  const bytesOf = new Map<string, number>();
  for (const d of DIRECTIONS) for (const f of FAMS) for (const e of listing.get(counterSet(d, f)) ?? []) bytesOf.set(`${d} ${e.key[0]}`, e.counter?.bytes ?? 0);
  const seen = new Map<string, { direction: 'down' | 'up'; limit: number; hash: string; used: number }>();
  for (const d of DIRECTIONS) {
    for (const f of FAMS) {
      for (const e of listing.get(quotaMap(d, f)) ?? []) {
        const q = e.value === undefined ? undefined : parseQuotaName(e.value);
        if (!q || q.direction !== d) continue;
        const key = e.value!;
        const s = seen.get(key) ?? { direction: d, limit: q.limit, hash: q.hash, used: 0 };
        s.used += bytesOf.get(`${d} ${e.key[0]}`) ?? 0;
        seen.set(key, s);
      }
    }
  }
  for (const s of seen.values()) {
    if (s.used < s.limit - Math.min(SPENT_SLACK_BYTES, Math.floor(s.limit / 2))) continue;
    const sessionId = sessionOf(s.hash);
    if (sessionId !== undefined && !out.some((o) => o.sessionId === sessionId && o.direction === s.direction)) out.push({ sessionId, direction: s.direction });
  }
  return out;
}
