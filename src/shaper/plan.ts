import type { RuntimeElement, RuntimeOp } from '../firewall/index.js';
import { classid, clientChangeLines, clientLines, clientRemoveLines, leafMinor, MAX_SLOTS, shareOf, type DeviceSpec } from './htb.js';
import { DIRECTIONS, mapName, type Family } from './fragment.js';
import { leafOfMark, MARK_VALUES } from './marks.js';
import type { Direction } from './types.js';

/*
 * Which shares exist and which class slot each has: pure, so allocation and the kernel changes it implies are
 * tested without a kernel. A share is one resident (a device by MAC, or with the portal a user's devices);
 * each has one slot, i.e. one parent class per device with its leaves, and every address of the share maps
 * to that slot's leaves in the classification maps.
 */

export interface ShareWant {
  readonly addrs: readonly string[];
  readonly fairUse: boolean;
}

export interface ShareState {
  readonly key: string;
  readonly slot: number;
  readonly addrs: readonly string[];
  readonly fairUse: boolean;
}

export interface ShareTable {
  readonly shares: ReadonlyMap<string, ShareState>;
  /** The per-share guarantee bucket each device's parents were last given (see bucket()). */
  readonly bucket: number;
}

export const emptyTable = (): ShareTable => ({ shares: new Map(), bucket: 0 });

export interface PlanOptions {
  readonly devices: readonly DeviceSpec[];
  readonly p2pBps: number;
  readonly fairUseBps: number;
  /** Slots the kernel already uses for an address (after a restart): kept, so nothing moves. */
  readonly slotHints?: ReadonlyMap<string, number>;
}

export interface Plan {
  readonly next: ShareTable;
  /** tc lines per device to run before the map changes (new and changed classes). */
  readonly tcBefore: ReadonlyMap<string, string[][]>;
  readonly mapOps: readonly RuntimeOp[];
  /** tc lines per device to run after the map changes (classes nothing points to any more). */
  readonly tcAfter: ReadonlyMap<string, string[][]>;
  readonly created: readonly string[];
  readonly removed: readonly string[];
}

export const familyOf = (addr: string): Family => (addr.includes(':') ? 6 : 4);

/**
 * Shares are guaranteed link / bucket, where bucket is the share count rounded up to a power of two: the
 * guarantees always fit in the link, and a client coming or going rewrites every parent class only when the
 * count crosses a power of two (HTB lends what idle shares leave equally, by equal quanta, so fairness among
 * the busy ones holds either way).
 */
export function bucket(count: number): number {
  let b = 1;
  while (b < count) b *= 2;
  return b;
}

/** The classification map elements of one address in one slot: every mark value to its leaf. */
export function mapElements(addr: string, slot: number): RuntimeElement[] {
  return MARK_VALUES.map((m) => ({ key: [addr, String(m)], value: classid(leafMinor(slot, leafOfMark(m))) }));
}

function addrOps(op: 'add' | 'replace' | 'delete', addrs: readonly { addr: string; slot: number }[]): RuntimeOp[] {
  const by = new Map<string, RuntimeElement[]>();
  for (const { addr, slot } of addrs) {
    for (const dir of DIRECTIONS) {
      const name = mapName(dir, familyOf(addr));
      if (!by.has(name)) by.set(name, []);
      by.get(name)!.push(...mapElements(addr, slot));
    }
  }
  return [...by].map(([set, elements]) => ({ op, set, elements }));
}

function ceilFor(d: DeviceSpec, fairUse: boolean, fairUseBps: number): number {
  return fairUse ? Math.min(fairUseBps, d.linkBps) : d.linkBps;
}

/** The changes that take the kernel from `prev` to the wanted shares. */
export function planShares(prev: ShareTable, want: ReadonlyMap<string, ShareWant>, o: PlanOptions): Plan {
  const shares = new Map<string, ShareState>();
  const used = new Set<number>();
  // Keep the slots of shares that stay; then hinted slots; then the lowest free ones.
  for (const [key, w] of want) {
    const old = prev.shares.get(key);
    if (old && w.addrs.length > 0) {
      shares.set(key, { key, slot: old.slot, addrs: [...w.addrs], fairUse: w.fairUse });
      used.add(old.slot);
    }
  }
  const pending: string[] = [];
  for (const [key, w] of want) {
    if (shares.has(key) || w.addrs.length === 0) continue;
    const hint = w.addrs.map((a) => o.slotHints?.get(a)).find((s) => s !== undefined && !used.has(s));
    if (hint !== undefined) {
      shares.set(key, { key, slot: hint, addrs: [...w.addrs], fairUse: w.fairUse });
      used.add(hint);
    } else pending.push(key);
  }
  let free = 0;
  for (const key of pending) {
    while (used.has(free)) free++;
    if (free >= MAX_SLOTS) break; // more residents than classes: the rest stay in the default class
    const w = want.get(key)!;
    shares.set(key, { key, slot: free, addrs: [...w.addrs], fairUse: w.fairUse });
    used.add(free);
  }

  const b = bucket(shares.size);
  const tcBefore = new Map<string, string[][]>();
  const tcAfter = new Map<string, string[][]>();
  const created: string[] = [];
  const removed: string[] = [];
  for (const d of o.devices) {
    const before: string[][] = [];
    const after: string[][] = [];
    const rate = shareOf(d.linkBps, b);
    const usedBefore = new Set([...prev.shares.values()].map((s) => s.slot));
    const hinted = new Set(o.slotHints?.values() ?? []);
    for (const s of shares.values()) {
      const old = prev.shares.get(s.key);
      const spec = { slot: s.slot, rateBps: rate, ceilBps: ceilFor(d, s.fairUse, o.fairUseBps), p2pBps: o.p2pBps };
      if (!old || old.slot !== s.slot) before.push(...clientLines(d, spec, usedBefore.has(s.slot) || hinted.has(s.slot) ? 'replace' : 'add'));
      else if (b !== prev.bucket || old.fairUse !== s.fairUse) before.push(...clientChangeLines(d, spec));
    }
    for (const old of prev.shares.values()) {
      const now = shares.get(old.key);
      if (!now || now.slot !== old.slot) {
        if (![...shares.values()].some((s) => s.slot === old.slot)) after.push(...clientRemoveLines(d.dev, old.slot));
      }
    }
    tcBefore.set(d.dev, before);
    tcAfter.set(d.dev, after);
  }

  const prevSlotOf = new Map<string, number>();
  for (const s of prev.shares.values()) for (const a of s.addrs) prevSlotOf.set(a, s.slot);
  const nextSlotOf = new Map<string, number>();
  for (const s of shares.values()) for (const a of s.addrs) nextSlotOf.set(a, s.slot);
  const put: { addr: string; slot: number }[] = [];
  const fresh: { addr: string; slot: number }[] = [];
  const drop: { addr: string; slot: number }[] = [];
  for (const [addr, slot] of nextSlotOf) {
    const was = prevSlotOf.get(addr);
    // An address the kernel has no element for is added; one that moved is replaced (its value changes).
    if (was === undefined) fresh.push({ addr, slot });
    else if (was !== slot) put.push({ addr, slot });
  }
  for (const [addr, slot] of prevSlotOf) if (!nextSlotOf.has(addr)) drop.push({ addr, slot });
  for (const s of shares.values()) if (!prev.shares.has(s.key)) created.push(s.key);
  for (const s of prev.shares.values()) if (!shares.has(s.key)) removed.push(s.key);

  return {
    next: { shares, bucket: b },
    tcBefore,
    mapOps: [...addrOps('add', fresh), ...addrOps('replace', put), ...addrOps('delete', drop)],
    tcAfter,
    created,
    removed,
  };
}

/** The device specs for the configured interfaces. */
export function deviceSpecs(lan: readonly string[], wan: readonly string[], download: number, upload: number, leaf: DeviceSpec['leaf']): DeviceSpec[] {
  const dir = (d: Direction, names: readonly string[], bps: number) => names.map((dev) => ({ dev, dir: d, linkBps: bps, leaf }));
  return [...dir('down', lan, download), ...dir('up', wan, upload)];
}
