import type { Target } from './ip.js';
import { parseTarget } from './ip.js';
import { V4Target } from './fast-target.js';

/**
 * Address space a reputation feed must not make us drop: on a gateway, a DROP for 10.0.0.0/8 or
 * 192.168.0.0/16 cuts the LAN off, and multicast/loopback entries break the box itself.
 * Unlike net/ip.ts isSpecialPurpose (which looks at the first address only) this checks overlap,
 * so FireHOL's 224.0.0.0/3 or a stray 0.0.0.0/0 are caught too. Documentation and benchmark
 * ranges are deliberately absent: blocking them harms nobody.
 */
const SPECIAL_RANGES: ReadonlyArray<readonly [string, string]> = [
  ['0.0.0.0/8', 'unspecified ("this network")'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fc00::/7', 'unique local (private)'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
];

interface SpecialRange {
  readonly target: Target;
  readonly why: string;
  readonly start4: number;
  readonly end4: number;
}

const RANGES: readonly SpecialRange[] = SPECIAL_RANGES.map(([cidr, kind]) => {
  const target = parseTarget(cidr);
  const v4 = target.family === 4;
  return {
    target,
    why: `${kind} address space (${cidr})`,
    start4: v4 ? target.start.readUInt32BE(0) : 0,
    end4: v4 ? target.end.readUInt32BE(0) : 0,
  };
});
const RANGES4 = RANGES.filter((r) => r.target.family === 4);
const RANGES6 = RANGES.filter((r) => r.target.family === 6);

/** Why this target touches special address space, or undefined when it is ordinary public space. */
export function specialReason(t: Target): string | undefined {
  if (t.family === 4) {
    const s = t instanceof V4Target ? t.startInt : t.start.readUInt32BE(0);
    const e = t instanceof V4Target ? t.endInt : t.end.readUInt32BE(0);
    for (const r of RANGES4) if (s <= r.end4 && e >= r.start4) return r.why;
    return undefined;
  }
  for (const r of RANGES6) {
    if (t.start.compare(r.target.end) <= 0 && t.end.compare(r.target.start) >= 0) return r.why;
  }
  return undefined;
}

/** True when every address of the target lies in one special range (fd00::/8, 10.0.0.0/8, 192.168.1.0/24). */
export function withinSpecial(t: Target): boolean {
  return RANGES.some((r) => r.target.family === t.family && r.target.start.compare(t.start) <= 0 && r.target.end.compare(t.end) >= 0);
}
