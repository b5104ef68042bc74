import ipaddr from 'ipaddr.js';
import type { ListedElement, RuntimeElement, RuntimeOp } from '../../firewall/index.js';
import type { Grant } from '../types.js';
import { authSet, counterSet, DIRECTIONS, dnsSet, EXEMPT_MAC, exemptSet, FAMS, parseQuotaName, quotaMap, quotaName, sessionHash, type Direction, type Fam } from './names.js';

/*
 * Pure: which runtime operations grant, revoke and re-assert sessions. The kernel state a decision depends
 * on (quota maps, counters) is passed in as listed, so every case is a unit test.
 */

/** Counters and quota-map elements outlive the allow element a little, so the last bytes can still be read. */
export const ACCOUNTING_SLACK_SEC = 120;

export interface Exemptions {
  readonly macs: readonly string[];
  /** Addresses or CIDR ranges. */
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
}

export interface OutsideDns {
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
}

/** Listed portal maps and counter sets, by name (what KernelRuntime.list returned). */
export type Listing = ReadonlyMap<string, readonly ListedElement[]>;

const unquote = (v: string): string => v.replace(/^"|"$/g, '');
const familyOf = (ip: string): Fam => (ip.includes(':') ? 6 : 4);

/** The address as nft prints it, so listed keys and granted addresses compare equal. */
export function normalIp(ip: string): string {
  // Invalid text is left for the runtime's own checks, which name it in their error.
  return ipaddr.isValid(ip) ? ipaddr.parse(ip).toString() : ip;
}

export function addressesOf(g: Grant): { ip: string; f: Fam }[] {
  const out: { ip: string; f: Fam }[] = [];
  const seen = new Set<string>();
  for (const raw of [...g.device.ipv4, ...g.device.ipv6]) {
    const ip = normalIp(raw);
    if (seen.has(ip)) continue;
    seen.add(ip);
    out.push({ ip, f: familyOf(ip) });
  }
  return out;
}

const left = (g: Grant, d: Direction): number | undefined => (d === 'down' ? g.downloadLeft : g.uploadLeft);

/** Seconds the session has left; undefined when it is over (nothing to grant). */
export function secondsLeft(g: Grant, now: number): number | undefined {
  const ms = g.untilMs - now;
  return ms > 0 ? Math.ceil(ms / 1000) : undefined;
}

/** The session's quotas for one direction the kernel's maps point to. */
function mappedQuotas(g: Grant, d: Direction, listing: Listing | undefined): string[] {
  const hash = sessionHash(g.sessionId);
  const out = new Set<string>();
  for (const { ip, f } of addressesOf(g)) {
    for (const e of listing?.get(quotaMap(d, f)) ?? []) {
      if (e.key[0] !== ip || e.value === undefined) continue;
      const q = parseQuotaName(e.value);
      if (q && q.hash === hash && q.direction === d) out.add(unquote(e.value));
    }
  }
  return [...out];
}

/**
 * The quota name a grant gets for one direction. Re-assertion (`keepAnyLimit`) keeps the one the kernel's
 * map already points to for this session, whatever its limit: it has counted bytes the store's "left"
 * may already have subtracted. A grant keeps it only for the same limit (a new address of the device);
 * a different limit (a top-up) is a new quota that counts from zero.
 */
export function quotaFor(g: Grant, d: Direction, listing: Listing | undefined, keepAnyLimit = true): string | undefined {
  const limit = left(g, d);
  if (limit === undefined) return undefined;
  const wanted = quotaName(g.sessionId, d, limit);
  const mapped = mappedQuotas(g, d, listing);
  if (mapped.includes(wanted)) return wanted;
  return keepAnyLimit && mapped.length > 0 ? mapped[0] : wanted;
}

interface GrantOpsOptions {
  /**
   * Whether an address's counters are kept (add: what the kernel counted stays; reassert, and a session
   * that gained an address) or start at zero (replace: a new session's addresses).
   */
  readonly keepCounters: boolean | ((ip: string) => boolean);
  readonly listing?: Listing | undefined;
  /** See quotaFor: true at re-assertion. Default true. */
  readonly keepAnyLimit?: boolean;
}

/** Operations that put one grant in the kernel; [] for a session already over. */
export function grantOps(g: Grant, now: number, o: GrantOpsOptions): RuntimeOp[] {
  const sec = secondsLeft(g, now);
  if (sec === undefined) return [];
  const addrs = addressesOf(g);
  const ops: RuntimeOp[] = [];
  const names = new Map(DIRECTIONS.map((d) => [d, quotaFor(g, d, o.listing, o.keepAnyLimit ?? true)] as const));
  // A new limit for a session that had one (a top-up) counts from zero: so must its counters, which
  // spent() compares with it. The session manager takes a counter that went down as a restart from zero.
  const limitChanged = (d: Direction): boolean => {
    const mapped = mappedQuotas(g, d, o.listing);
    return mapped.length > 0 && !mapped.includes(names.get(d) ?? '');
  };
  for (const f of FAMS) {
    const mine = addrs.filter((a) => a.f === f);
    if (mine.length === 0) continue;
    ops.push({ op: 'replace', set: authSet(f), elements: mine.map((a) => ({ key: [g.device.mac, a.ip], timeoutSec: sec })) });
    const keep = typeof o.keepCounters === 'function' ? o.keepCounters : () => o.keepCounters === true;
    for (const d of DIRECTIONS) {
      const el = (a: { ip: string }): RuntimeElement => ({ key: [a.ip], timeoutSec: sec + ACCOUNTING_SLACK_SEC });
      const kept = limitChanged(d) ? [] : mine.filter((a) => keep(a.ip));
      const fresh = mine.filter((a) => !kept.includes(a));
      if (kept.length > 0) ops.push({ op: 'add', set: counterSet(d, f), elements: kept.map(el) });
      if (fresh.length > 0) ops.push({ op: 'replace', set: counterSet(d, f), elements: fresh.map(el) });
    }
  }
  for (const d of DIRECTIONS) {
    const name = names.get(d);
    for (const f of FAMS) {
      const mine = addrs.filter((a) => a.f === f);
      // An address still pointing at another quota (a session that was not revoked, a replaced limit): the
      // kernel refuses to change a map element's value in place, so that element goes first.
      const other = (o.listing?.get(quotaMap(d, f)) ?? []).filter((e) => mine.some((a) => a.ip === e.key[0]) && e.value !== undefined && unquote(e.value) !== name);
      if (other.length > 0) ops.push({ op: 'delete', set: quotaMap(d, f), elements: other.map((e) => ({ key: [e.key[0]!], value: unquote(e.value!) })) });
      if (name !== undefined && mine.length > 0) ops.push({ op: 'replace', set: quotaMap(d, f), elements: mine.map((a) => ({ key: [a.ip], value: name, timeoutSec: sec + ACCOUNTING_SLACK_SEC })) });
    }
    // The session's quotas no map element uses any more (a replaced limit) go after their elements; one an
    // address outside this grant still points to stays (deleting it would fail the whole transaction).
    const addrSet = new Set(addrs.map((a) => a.ip));
    for (const old of mappedQuotas(g, d, o.listing)) {
      if (old === name) continue;
      const users = FAMS.flatMap((f) => (o.listing?.get(quotaMap(d, f)) ?? []).filter((e) => e.value !== undefined && unquote(e.value) === old));
      if (users.every((e) => addrSet.has(e.key[0]!))) ops.push({ op: 'delete-quota', name: old });
    }
    // Re-adding an existing quota with the same limit keeps what it counted (nft 1.0.6); first, so the
    // map elements can point to it.
    if (name !== undefined) ops.unshift({ op: 'add-quota', name, bytes: parseQuotaName(name)!.limit });
  }
  return ops;
}

/** Operations that take one grant out: allow elements first, then counters, map elements, then quotas. */
export function revokeOps(g: Grant, listing: Listing | undefined): RuntimeOp[] {
  const addrs = addressesOf(g);
  const ops: RuntimeOp[] = [];
  const quotas = new Set<string>();
  for (const f of FAMS) {
    const mine = addrs.filter((a) => a.f === f);
    if (mine.length === 0) continue;
    ops.push({ op: 'delete', set: authSet(f), elements: mine.map((a) => ({ key: [g.device.mac, a.ip] })) });
    for (const d of DIRECTIONS) ops.push({ op: 'delete', set: counterSet(d, f), elements: mine.map((a) => ({ key: [a.ip] })) });
  }
  const hash = sessionHash(g.sessionId);
  for (const d of DIRECTIONS) {
    for (const f of FAMS) {
      const els: RuntimeElement[] = [];
      for (const e of listing?.get(quotaMap(d, f)) ?? []) {
        if (e.value === undefined || !addrs.some((a) => a.ip === e.key[0])) continue;
        els.push({ key: [e.key[0]!], value: e.value.replace(/^"|"$/g, '') });
      }
      if (els.length > 0) ops.push({ op: 'delete', set: quotaMap(d, f), elements: els });
      for (const e of els) {
        const q = parseQuotaName(e.value!);
        if (q?.hash === hash) quotas.add(e.value!);
      }
    }
    // The quota a grant made, even when its map elements already timed out.
    const made = left(g, d) === undefined ? undefined : quotaName(g.sessionId, d, left(g, d)!);
    if (made !== undefined) quotas.add(made);
  }
  for (const name of quotas) ops.push({ op: 'delete-quota', name });
  return ops;
}

/** The exempt and outside-DNS sets, refilled in the same transaction as their flush (no gap). */
export function staticOps(exempt: Exemptions, dns: OutsideDns): RuntimeOp[] {
  const els = (xs: readonly string[]): RuntimeElement[] => [...new Set(xs)].map((x) => ({ key: [x] }));
  return [
    { op: 'flush', set: EXEMPT_MAC },
    { op: 'add', set: EXEMPT_MAC, elements: els(exempt.macs.map((m) => m.toLowerCase())) },
    { op: 'flush', set: exemptSet(4) },
    { op: 'add', set: exemptSet(4), elements: els(exempt.ipv4) },
    { op: 'flush', set: exemptSet(6) },
    { op: 'add', set: exemptSet(6), elements: els(exempt.ipv6) },
    { op: 'flush', set: dnsSet(4) },
    { op: 'add', set: dnsSet(4), elements: els(dns.ipv4) },
    { op: 'flush', set: dnsSet(6) },
    { op: 'add', set: dnsSet(6), elements: els(dns.ipv6) },
  ];
}

/**
 * Elements of the allow sets, counters and quota maps that none of the wanted grants covers (a session
 * that ended while the daemon was down, or one the store no longer knows): removed by reassert. Quotas
 * those map elements point to go too.
 */
export function staleOps(grants: readonly Grant[], listing: Listing): RuntimeOp[] {
  const wantedPairs = new Set<string>();
  const wantedIps = new Set<string>();
  const wantedHashes = new Set<string>();
  for (const g of grants) {
    wantedHashes.add(sessionHash(g.sessionId));
    for (const a of addressesOf(g)) {
      wantedPairs.add(`${g.device.mac.toLowerCase()} ${a.ip}`);
      wantedIps.add(a.ip);
    }
  }
  const ops: RuntimeOp[] = [];
  const quotas = new Set<string>();
  for (const f of FAMS) {
    const auth = (listing.get(authSet(f)) ?? []).filter((e) => !wantedPairs.has(`${e.key[0]} ${e.key[1]}`));
    if (auth.length > 0) ops.push({ op: 'delete', set: authSet(f), elements: auth.map((e) => ({ key: [...e.key] })) });
    for (const d of DIRECTIONS) {
      const c = (listing.get(counterSet(d, f)) ?? []).filter((e) => !wantedIps.has(e.key[0]!));
      if (c.length > 0) ops.push({ op: 'delete', set: counterSet(d, f), elements: c.map((e) => ({ key: [...e.key] })) });
      const m = (listing.get(quotaMap(d, f)) ?? []).filter((e) => {
        const q = e.value === undefined ? undefined : parseQuotaName(e.value);
        return !wantedIps.has(e.key[0]!) || q === undefined || !wantedHashes.has(q.hash);
      });
      if (m.length > 0) ops.push({ op: 'delete', set: quotaMap(d, f), elements: m.map((e) => ({ key: [...e.key], value: (e.value ?? '').replace(/^"|"$/g, '') })) });
      for (const e of m) {
        const q = e.value === undefined ? undefined : parseQuotaName(e.value);
        if (q && !wantedHashes.has(q.hash)) quotas.add(e.value!.replace(/^"|"$/g, ''));
      }
    }
  }
  for (const name of quotas) ops.push({ op: 'delete-quota', name });
  return ops;
}
