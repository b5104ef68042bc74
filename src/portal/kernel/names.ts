import { createHash } from 'node:crypto';

/**
 * Names of the portal's kernel objects, in one place so the fragment, the runtime operations and the
 * accounting agree. Every name starts with `portal_` (the composer rejects another module using them).
 */

export type Fam = 4 | 6;
export type Direction = 'down' | 'up';

/** Granted devices: `ether_addr . ipvN_addr`, one element per address, timeout = session end. */
export const authSet = (f: Fam): string => `portal_auth${f}`;
/** Exempt devices (printer, SIP server, admin PC): pass without a login. */
export const EXEMPT_MAC = 'portal_exempt_mac';
export const exemptSet = (f: Fam): string => `portal_exempt${f}`;
/** The configured outside resolvers unauthorised clients may still ask (when Gatehouse's own resolver is off). */
export const dnsSet = (f: Fam): string => `portal_dns${f}`;
/** Per-address byte counters of granted clients (`portal_down4`, `portal_up6`…). */
export const counterSet = (d: Direction, f: Fam): string => `portal_${d}${f}`;
/** Address → the session's named quota for that direction (`portal_qdown4`…). */
export const quotaMap = (d: Direction, f: Fam): string => `portal_q${d}${f}`;
/** Every runtime quota's name starts with this (KernelFragment.runtimeQuotaPrefix). */
export const QUOTA_PREFIX = 'portal_q';

export const FAMS: readonly Fam[] = [4, 6];
export const DIRECTIONS: readonly Direction[] = ['down', 'up'];

/** Chains (regular chains of the portal's fragment). */
export const CHAIN = {
  /** nat prerouting: who is redirected to the portal. */
  pre: 'portal_pre',
  /** forward, packets from the LAN. */
  fwdUp: 'portal_fwd_up',
  /** forward, packets to the LAN. */
  fwdDown: 'portal_fwd_down',
  /** Granted clients' uploads: quota, then counter. */
  up4: 'portal_up4_acct',
  up6: 'portal_up6_acct',
  /** input: what an unauthorised client may reach on the gateway itself. */
  input: 'portal_input',
} as const;

const SESSION_HASH = /^[0-9a-f]{10}$/;
const QUOTA_NAME = /^portal_q([0-9a-f]{10})([du])([0-9a-z]{1,11})$/;

/** A session id (any text) as 10 hex digits: stable across restarts, so a restart finds its quotas again. */
export function sessionHash(sessionId: string): string {
  return createHash('sha256').update(sessionId, 'utf8').digest('hex').slice(0, 10);
}

/**
 * The session's quota for one direction. The limit is part of the name (base 36), so the kernel alone
 * tells what a quota was granted: spent() works after a restart without any memory of the grant, and a
 * re-assertion keeps the quota — with the bytes it has counted — instead of granting the limit again.
 * `portal_q` + 10 + 1 + at most 11 characters = 30, under nft's 32.
 */
export function quotaName(sessionId: string, d: Direction, limitBytes: number): string {
  const bytes = Math.max(1, Math.floor(limitBytes));
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`quota ${String(limitBytes)} is out of range`);
  return `${QUOTA_PREFIX}${sessionHash(sessionId)}${d === 'down' ? 'd' : 'u'}${bytes.toString(36)}`;
}

export interface ParsedQuota {
  readonly hash: string;
  readonly direction: Direction;
  readonly limit: number;
}

export function parseQuotaName(name: string): ParsedQuota | undefined {
  const m = QUOTA_NAME.exec(name.replace(/^"|"$/g, ''));
  if (!m || !SESSION_HASH.test(m[1]!)) return undefined;
  const limit = parseInt(m[3]!, 36);
  if (!Number.isSafeInteger(limit) || limit <= 0) return undefined;
  return { hash: m[1]!, direction: m[2] === 'd' ? 'down' : 'up', limit };
}
