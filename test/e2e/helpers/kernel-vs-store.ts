/**
 * What the kernel should hold for a store snapshot, and where it differs: host sets exactly (value and
 * direction), interval sets by coverage and by their ends (the enforcer merges overlapping ranges). Values
 * within 5 s of expiry are let off: the store and the kernel time them out a moment apart.
 */
import { tryParseTarget } from '../../../src/net/ip.js';
import type { Decision } from '../../../src/decisions/types.js';
import { readHostSet, readIntervalSet, type Intervals } from './fuzz-harness.js';

/** Gatehouse's host sets (value → set and seconds left) in the gateway namespace, read by name. */
export async function readKernelHosts(gwNs: string, table: string): Promise<KernelHosts> {
  const out: KernelHosts = new Map();
  for (const dir of ['both', 'in', 'out']) {
    for (const f of [4, 6]) {
      const set = `${dir}_ip${f}`;
      for (const [v, expires] of await readHostSet(gwNs, table, set)) out.set(v, { set, expires });
    }
  }
  return out;
}

/** Gatehouse's interval sets (in_net4 … out_net6), read by name. */
export async function readKernelRanges(gwNs: string, table: string): Promise<KernelRanges> {
  const out: KernelRanges = new Map();
  for (const dir of ['in', 'out']) for (const f of [4, 6] as const) out.set(`${dir}_net${f}`, await readIntervalSet(gwNs, table, `${dir}_net${f}`, f));
  return out;
}

export interface Diff {
  readonly missing: string[];
  readonly wrongSet: string[];
  readonly extra: string[];
  /** Active range decisions no interval of their direction's set covers. */
  readonly rangesMissing: string[];
  /** Kernel intervals whose ends are not the ends of any active range decision of that direction. */
  readonly rangesExtra: string[];
}

export type KernelRanges = Map<string, Intervals>;
export type KernelHosts = Map<string, { set: string; expires: number | undefined }>;

export function rangeDiff(decisions: readonly Decision[], have: KernelRanges, now: number): Pick<Diff, 'rangesMissing' | 'rangesExtra'> {
  const big = (b: Buffer) => BigInt(`0x${b.toString('hex')}`);
  const want = new Map<string, { start: bigint; end: bigint; near: boolean; text: string }[]>();
  for (const d of decisions) {
    if (d.scope !== 'range' || (d.expiresAt !== null && d.expiresAt <= now - 5_000)) continue;
    const t = tryParseTarget(d.value);
    if (!t) continue;
    const near = d.expiresAt !== null && Math.abs(d.expiresAt - now) < 5_000;
    for (const dir of d.direction === 'both' ? ['in', 'out'] : [d.direction === 'inbound' ? 'in' : 'out']) {
      const set = `${dir}_net${t.family}`;
      want.set(set, [...(want.get(set) ?? []), { start: big(t.start), end: big(t.end), near, text: d.value }]);
    }
  }
  const rangesMissing: string[] = [];
  const rangesExtra: string[] = [];
  for (const [set, ivs] of have) {
    const w = want.get(set) ?? [];
    for (const r of w) if (!r.near && !ivs.some(([s, e]) => s <= r.start && r.end <= e)) rangesMissing.push(`${r.text} not in ${set}`);
    for (const [s, e] of ivs) {
      if (!w.some((r) => r.start === s) || !w.some((r) => r.end === e)) rangesExtra.push(`${set}: ${s.toString(16)}-${e.toString(16)}`);
    }
  }
  return { rangesMissing, rangesExtra };
}

/** One comparison of the kernel's host sets with a store snapshot; values within 5 s of expiry are let off. */
export function hostDiff(decisions: readonly Decision[], have: KernelHosts, now: number): Pick<Diff, 'missing' | 'wrongSet' | 'extra'> {
  const near = (t: number | null) => t !== null && Math.abs(t - now) < 5_000;
  const want = new Map<string, { inbound: boolean; outbound: boolean; family: number; near: boolean }>();
  for (const d of decisions) {
    if (d.scope !== 'ip' || (d.expiresAt !== null && d.expiresAt <= now - 5_000)) continue;
    const w = want.get(d.value) ?? { inbound: false, outbound: false, family: d.value.includes(':') ? 6 : 4, near: false };
    w.inbound ||= d.direction !== 'outbound';
    w.outbound ||= d.direction !== 'inbound';
    w.near ||= near(d.expiresAt);
    want.set(d.value, w);
  }
  const out = { missing: [] as string[], wrongSet: [] as string[], extra: [] as string[] };
  for (const [v, w] of want) {
    const set = `${w.inbound && w.outbound ? 'both' : w.inbound ? 'in' : 'out'}_ip${w.family}`;
    const k = have.get(v);
    if (!k) {
      if (!w.near) out.missing.push(v);
    } else if (k.set !== set) out.wrongSet.push(`${v} in ${k.set}, expected ${set}`);
  }
  // nft reports `expires` in seconds.
  for (const [v, k] of have) if (!want.has(v) && !(k.expires !== undefined && k.expires < 5)) out.extra.push(`${v} (${k.set}, expires ${k.expires ?? 'never'})`);
  return out;
}
