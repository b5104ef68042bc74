import { ifnames, int, rule, setRef, type NftRule } from '../../firewall/index.js';
import { MARK_ELEPHANT } from '../marks.js';
import type { FragmentPart } from '../fragment.js';

export interface GuardRuleOptions {
  readonly lan: readonly string[];
  /** `shaper.max_connections`: a client's tracked connections (TCP + UDP) beyond this are refused. */
  readonly maxConnections?: number;
  /** `shaper.new_connections_per_second`: a client's new connections beyond this rate (and burst) are dropped. */
  readonly newConnectionsPerSecond?: number;
  /** A flow that moved more than this in one direction gets the elephant bit (default 10 MB; 0 = off). */
  readonly elephantBytes?: number;
}

export type GuardCap = 'max_connections' | 'new_connections_per_second';

/** Names the cap watcher reads: per-client sets of who hit which cap, with a counter of refused packets. */
export const GUARD_SETS = {
  connlim4: 'shaper_connlim4',
  connlim6: 'shaper_connlim6',
  newconn4: 'shaper_newconn4',
  newconn6: 'shaper_newconn6',
  capConn4: 'shaper_cap_conn4',
  capConn6: 'shaper_cap_conn6',
  capRate4: 'shaper_cap_rate4',
  capRate6: 'shaper_cap_rate6',
} as const;

/** How long a "hit the cap" record stays (the watcher reports a client again once it expired). */
export const CAP_RECORD_SEC = 600;
export const DEFAULT_ELEPHANT_BYTES = 10_000_000;

const MAX_CAP = 1_000_000;

function checkCap(n: number | undefined, what: string): number | undefined {
  if (n === undefined) return undefined;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_CAP) throw new RangeError(`${what} must be a whole number from 1 to ${MAX_CAP}, not ${String(n)}`);
  return n;
}

/**
 * Hog guards for LAN clients' forwarded connections, in the kernel: a per-client connection cap (`ct count`,
 * TCP refused with a reset, UDP with ICMP admin-prohibited: an application fails fast instead of hanging),
 * a per-client new-connection rate (dropped: the client's stack retries later, a natural back-off), and the
 * elephant bit on flows past a byte count (needs nf_conntrack_acct=1, see acct.ts). Each refusal records
 * the client in a cap set the watcher turns into `shaper.cap_hit` events.
 */
export function guardRules(opts: GuardRuleOptions): FragmentPart {
  const lan = ifnames(opts.lan);
  const max = checkCap(opts.maxConnections, 'shaper.max_connections');
  const rate = checkCap(opts.newConnectionsPerSecond, 'shaper.new_connections_per_second');
  const elephant = opts.elephantBytes ?? DEFAULT_ELEPHANT_BYTES;
  if (!Number.isSafeInteger(elephant) || elephant < 0) throw new RangeError(`elephant bytes must be a non-negative whole number, not ${String(elephant)}`);
  const record = (name: string, type: 'ipv4_addr' | 'ipv6_addr') =>
    ({ name, type: [type], flags: ['dynamic', 'timeout'] as const, timeoutSec: CAP_RECORD_SEC, size: 16384, counter: true });
  // The records exist with every cap switched off too: the watcher lists them whatever the config.
  const sets: NonNullable<FragmentPart['sets']>[number][] = [
    record(GUARD_SETS.capRate4, 'ipv4_addr'),
    record(GUARD_SETS.capRate6, 'ipv6_addr'),
    record(GUARD_SETS.capConn4, 'ipv4_addr'),
    record(GUARD_SETS.capConn6, 'ipv6_addr'),
  ];
  const rules: NftRule[] = [];
  if (rate !== undefined) {
    sets.push(
      { name: GUARD_SETS.newconn4, type: ['ipv4_addr'], flags: ['dynamic', 'timeout'], timeoutSec: 60, size: 65536 },
      { name: GUARD_SETS.newconn6, type: ['ipv6_addr'], flags: ['dynamic', 'timeout'], timeoutSec: 60, size: 65536 },
    );
    const r = int(rate);
    rules.push(
      rule`meta nfproto ipv4 ct state new iifname ${lan} add ${setRef(GUARD_SETS.newconn4)} { ip saddr limit rate over ${r}/second burst ${r} packets } update ${setRef(GUARD_SETS.capRate4)} { ip saddr } drop`,
      rule`meta nfproto ipv6 ct state new iifname ${lan} add ${setRef(GUARD_SETS.newconn6)} { ip6 saddr limit rate over ${r}/second burst ${r} packets } update ${setRef(GUARD_SETS.capRate6)} { ip6 saddr } drop`,
    );
  }
  if (max !== undefined) {
    // `ct count` elements must not time out (the kernel drops an element when its count reaches 0).
    sets.push(
      { name: GUARD_SETS.connlim4, type: ['ipv4_addr'], flags: ['dynamic'], size: 65536 },
      { name: GUARD_SETS.connlim6, type: ['ipv6_addr'], flags: ['dynamic'], size: 65536 },
    );
    const n = int(max);
    const c4 = setRef(GUARD_SETS.connlim4);
    const c6 = setRef(GUARD_SETS.connlim6);
    const h4 = setRef(GUARD_SETS.capConn4);
    const h6 = setRef(GUARD_SETS.capConn6);
    // TCP and UDP in separate rules: nft restricts a rule ending in `reject with tcp reset` to TCP.
    rules.push(
      rule`meta nfproto ipv4 ct state new iifname ${lan} meta l4proto tcp add ${c4} { ip saddr ct count over ${n} } update ${h4} { ip saddr } reject with tcp reset`,
      rule`meta nfproto ipv4 ct state new iifname ${lan} meta l4proto udp add ${c4} { ip saddr ct count over ${n} } update ${h4} { ip saddr } reject with icmpx type admin-prohibited`,
      rule`meta nfproto ipv6 ct state new iifname ${lan} meta l4proto tcp add ${c6} { ip6 saddr ct count over ${n} } update ${h6} { ip6 saddr } reject with tcp reset`,
      rule`meta nfproto ipv6 ct state new iifname ${lan} meta l4proto udp add ${c6} { ip6 saddr ct count over ${n} } update ${h6} { ip6 saddr } reject with icmpx type admin-prohibited`,
    );
  }
  if (elephant > 0) {
    const b = int(MARK_ELEPHANT);
    const e = int(elephant);
    rules.push(
      rule`ct mark and ${b} == 0 ct original bytes > ${e} ct mark set ct mark or ${b}`,
      rule`ct mark and ${b} == 0 ct reply bytes > ${e} ct mark set ct mark or ${b}`,
    );
  }
  return { sets, chains: [], hooks: [{ point: 'shaper-guards', chain: 'forward', rules }] };
}
