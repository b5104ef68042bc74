import { bytesToText, type Family, type Target } from '../../net/ip.js';
import { mergeRanges } from '../../net/ranges.js';

/** The part of a Target the aggregator needs: first and last address as big-endian bytes. */
export type Span = Pick<Target, 'family' | 'start' | 'end'>;

/** One merged CIDR, with the indexes (into the input order) of the spans it absorbed. */
export interface AggregatedCidr {
  readonly target: Target;
  readonly members: number[];
}

function toBig(b: Buffer): bigint {
  return BigInt('0x' + (b.length === 0 ? '0' : b.toString('hex')));
}

function toBuf(v: bigint, bytes: number): Buffer {
  return Buffer.from(v.toString(16).padStart(bytes * 2, '0'), 'hex');
}

function makeTarget(family: Family, start: bigint, prefix: number): Target {
  const bits = family === 4 ? 32 : 128;
  const bytes = bits / 8;
  const size = 1n << BigInt(bits - prefix);
  const s = toBuf(start, bytes);
  const e = toBuf(start + size - 1n, bytes);
  const base = bytesToText(s, family);
  const isHost = prefix === bits;
  return { text: isHost ? base : `${base}/${prefix}`, family, prefix, isHost, start: s, end: e };
}

/** Splits the inclusive interval [lo, hi] into the fewest CIDR blocks, in address order. */
export function intervalToCidrs(family: Family, lo: bigint, hi: bigint): Target[] {
  const bits = family === 4 ? 32 : 128;
  const out: Target[] = [];
  let cur = lo;
  while (cur <= hi) {
    // Largest block aligned at `cur`: limited by cur's trailing zero bits and by what is left up to hi.
    let size = cur === 0n ? 1n << BigInt(bits) : cur & -cur;
    while (size > hi - cur + 1n) size >>= 1n;
    let hostBits = 0;
    while ((1n << BigInt(hostBits)) < size) hostBits++;
    out.push(makeTarget(family, cur, bits - hostBits));
    cur += size;
  }
  return out;
}

/**
 * Merges overlapping and adjacent ranges into the minimal list of CIDRs per family (IPv4 first, then IPv6,
 * each in address order): 10.0.0.0/25 + 10.0.0.128/25 → 10.0.0.0/24; 10.0.0.1 + 10.0.0.0/24 → 10.0.0.0/24.
 */
export function aggregateCidrs(spans: readonly Span[]): AggregatedCidr[] {
  const out: AggregatedCidr[] = [];
  for (const family of [4, 6] as const) {
    const index = spans.flatMap((s, i) => (s.family === family ? [i] : []));
    for (const m of mergeRanges(index.map((i) => spans[i]!))) {
      const members = m.members.map((k) => index[k]!);
      const cidrs = intervalToCidrs(family, toBig(m.start), toBig(m.end));
      if (cidrs.length === 1) {
        out.push({ target: cidrs[0]!, members });
        continue;
      }
      // One merged interval may need several CIDRs: hand each its own members (those overlapping it).
      const group = members.map((i) => ({ i, lo: toBig(spans[i]!.start), hi: toBig(spans[i]!.end) }));
      for (const t of cidrs) {
        const tlo = toBig(t.start);
        const thi = toBig(t.end);
        out.push({ target: t, members: group.filter((g) => g.lo <= thi && g.hi >= tlo).map((g) => g.i) });
      }
    }
  }
  return out;
}
