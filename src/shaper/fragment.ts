import { ifnames, int, rule, setRef, type KernelFragment, type NftRule } from '../firewall/index.js';
import { MARK_INTERACTIVE } from './marks.js';
import type { Direction } from './types.js';

/*
 * The shaper's part of the `inet gatehouse` table. Classification happens here, not in tc (cls_fw is missing
 * on many kernels): at mangle postrouting, before masquerade, a forwarded packet's `meta priority` is set to
 * the HTB class of its LAN address and its flow's mark bits. HTB picks that class directly. Packets nft does
 * not classify (the gateway's own, LAN to LAN) keep priority 0 and go to HTB's default class, outside the link
 * class: the gateway's traffic is not counted against residents.
 *
 * Per LAN address and direction, a counter set (dynamic, timeout = idle) counts the bytes forwarded: the
 * controller reads it for rates, bytes and presence (an address whose element timed out has been quiet).
 */

export type Family = 4 | 6;
type SetDecl = NonNullable<KernelFragment['sets']>[number];
type MapDecl = NonNullable<KernelFragment['maps']>[number];
type ChainDecl = NonNullable<KernelFragment['chains']>[number];
type HookRules = NonNullable<KernelFragment['hooks']>[number];

export const mapName = (dir: Direction, f: Family): string => `shaper_${dir}${f}`;
/** rx = to the LAN address (download), tx = from it (upload). */
export const counterSet = (dir: Direction, f: Family): string => `shaper_${dir === 'down' ? 'rx' : 'tx'}${f}`;

export const FAMILIES: readonly Family[] = [4, 6];
export const DIRECTIONS: readonly Direction[] = ['down', 'up'];

/** What another part of the shaper (p2p/, guards/) adds to the fragment: its own sets, maps, chains and hooks. */
export interface FragmentPart {
  readonly sets?: readonly SetDecl[];
  readonly maps?: readonly MapDecl[];
  readonly chains?: readonly ChainDecl[];
  readonly hooks?: readonly HookRules[];
}

/** Several parts as one, in their order (the order their rules run at a shared hook point). */
export function mergeParts(parts: readonly FragmentPart[]): { sets: SetDecl[]; maps: MapDecl[]; chains: ChainDecl[]; hooks: HookRules[] } {
  return {
    sets: parts.flatMap((p) => p.sets ?? []),
    maps: parts.flatMap((p) => p.maps ?? []),
    chains: parts.flatMap((p) => p.chains ?? []),
    hooks: parts.flatMap((p) => p.hooks ?? []),
  };
}

export interface ShaperFragmentOptions {
  readonly lan: readonly string[];
  readonly wan: readonly string[];
  /** Seconds without traffic before an address's counter element (and so its class) goes. */
  readonly idleSec: number;
  readonly parts?: readonly FragmentPart[];
}


export function shaperFragment(o: ShaperFragmentOptions): KernelFragment {
  const lan = ifnames(o.lan);
  const wan = ifnames(o.wan);
  const sets: SetDecl[] = [];
  const maps: MapDecl[] = [];
  for (const dir of DIRECTIONS) {
    for (const f of FAMILIES) {
      sets.push({ name: counterSet(dir, f), type: [f === 4 ? 'ipv4_addr' : 'ipv6_addr'], flags: ['dynamic', 'timeout'], timeoutSec: o.idleSec, size: 65536, counter: true });
      maps.push({ name: mapName(dir, f), key: [f === 4 ? 'ipv4_addr' : 'ipv6_addr', 'mark'], value: 'classid' });
    }
  }
  const mark = int(MARK_INTERACTIVE);
  const rules: NftRule[] = [
    // Interactive services (SSH, DNS, SIP; NTP, STUN), marked at the flow's first packet (the mark then holds for its replies too).
    rule`iifname ${lan} oifname ${wan} ct state new tcp dport { 22, 53, 5060, 5061 } ct mark set ct mark or ${mark}`,
    rule`iifname ${lan} oifname ${wan} ct state new udp dport { 53, 123, 3478, 3479, 5060, 5061 } ct mark set ct mark or ${mark}`,
    rule`iifname ${lan} oifname ${wan} ct state new meta l4proto { icmp, ipv6-icmp } ct mark set ct mark or ${mark}`,
    // Forwarded traffic of addresses without a class yet: the link's default class, not the gateway's.
    rule`iifname ${wan} oifname ${lan} meta priority set 1:2`,
    rule`iifname ${lan} oifname ${wan} meta priority set 1:2`,
    rule`iifname ${wan} oifname ${lan} meta priority set ip daddr . ct mark map ${setRef(mapName('down', 4))}`,
    rule`iifname ${wan} oifname ${lan} meta priority set ip6 daddr . ct mark map ${setRef(mapName('down', 6))}`,
    rule`iifname ${lan} oifname ${wan} meta priority set ip saddr . ct mark map ${setRef(mapName('up', 4))}`,
    rule`iifname ${lan} oifname ${wan} meta priority set ip6 saddr . ct mark map ${setRef(mapName('up', 6))}`,
    rule`iifname ${wan} oifname ${lan} update ${setRef(counterSet('down', 4))} { ip daddr }`,
    rule`iifname ${wan} oifname ${lan} update ${setRef(counterSet('down', 6))} { ip6 daddr }`,
    rule`iifname ${lan} oifname ${wan} update ${setRef(counterSet('up', 4))} { ip saddr }`,
    rule`iifname ${lan} oifname ${wan} update ${setRef(counterSet('up', 6))} { ip6 saddr }`,
  ];
  // Other parts first at the same point: their marks (p2p, elephant) must be set before the class lookup.
  const other = mergeParts(o.parts ?? []);
  return {
    module: 'shaper',
    sets: [...sets, ...other.sets],
    maps: [...maps, ...other.maps],
    chains: other.chains,
    hooks: [...other.hooks, { point: 'shaper-classify', chain: 'mangle_postrouting', rules }],
  };
}
