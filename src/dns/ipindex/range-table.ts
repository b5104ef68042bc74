/**
 * CIDR ranges of one family with longest-prefix match. CIDR blocks either nest or are disjoint, so the
 * build flattens them into sorted segments, each naming its most specific block (and every block its
 * enclosing one, `parent`): a lookup is one binary search. Changes after the build go in cheaply: a removed
 * block is only marked dead (lookups walk up to its parent), an added one waits in a short overlay that
 * lookups scan; the segments are rebuilt when the overlay or the dead count grows past a bound.
 */

export interface RangeTableState {
  readonly words: 1 | 4;
  readonly n: number;
  readonly dead: number;
  readonly start: Uint32Array;
  readonly prefix: Uint8Array;
  readonly labels: Uint32Array;
  readonly ids: Uint32Array;
  readonly exp: Uint32Array;
  readonly parent: Int32Array;
  readonly alive: Uint8Array;
  readonly segN: number;
  readonly segStart: Uint32Array;
  readonly segEntry: Int32Array;
  readonly overlay: Int32Array;
}

/** Added blocks a lookup scans before the segments are rebuilt: bounds the per-lookup cost of changes. */
export const OVERLAY_MAX = 32;

/**
 * Which of two decisions on one value the index names: the one that lasts longer (so the value stays
 * matched until its last decision runs out), then the newer one. `exp` 0 = never expires.
 */
export function wins(expA: number, idA: number, expB: number, idB: number): boolean {
  if (expA !== expB) return expA === 0 || (expB !== 0 && expA > expB);
  return idA > idB;
}

/** Host bits of a 32-bit word holding `p` prefix bits. */
function hostMask(p: number): number {
  return p <= 0 ? 0xffffffff : p >= 32 ? 0 : ((1 << (32 - p)) >>> 0) - 1;
}

/** Network mask of each IPv4 prefix length: a table read beats the branches of hostMask in the lookup loop. */
const NET4 = Uint32Array.from({ length: 33 }, (_, p) => ~hostMask(p) >>> 0);

function grown<T extends Uint32Array | Uint8Array | Int32Array>(a: T, need: number): T {
  if (a.length >= need) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2, 16));
  b.set(a);
  return b;
}

export class RangeTable {
  readonly words: 1 | 4;
  n = 0;
  dead = 0;
  start: Uint32Array;
  prefix: Uint8Array;
  labels: Uint32Array;
  ids: Uint32Array;
  exp: Uint32Array;
  parent: Int32Array;
  alive: Uint8Array;
  segN = 0;
  segStart: Uint32Array;
  segEntry: Int32Array;
  overlay: number[] = [];
  /**
   * IPv4: for each /16, the first segment starting in it or later (65,537 entries). Narrows the binary
   * search to one /16's segments, a few probes in memory close together instead of ~18 spread over MBs.
   */
  private bucket: Uint32Array | undefined;
  /** start words + prefix → entry; built on the first change that needs it (a worker may never need it). */
  private byKey: Map<string, number> | undefined;

  constructor(words: 1 | 4, state?: RangeTableState) {
    this.words = words;
    if (state) {
      this.n = state.n;
      this.dead = state.dead;
      this.start = state.start;
      this.prefix = state.prefix;
      this.labels = state.labels;
      this.ids = state.ids;
      this.exp = state.exp;
      this.parent = state.parent;
      this.alive = state.alive;
      this.segN = state.segN;
      this.segStart = state.segStart;
      this.segEntry = state.segEntry;
      this.overlay = [...state.overlay];
      this.buckets();
      return;
    }
    this.start = new Uint32Array(0);
    this.prefix = new Uint8Array(0);
    this.labels = new Uint32Array(0);
    this.ids = new Uint32Array(0);
    this.exp = new Uint32Array(0);
    this.parent = new Int32Array(0);
    this.alive = new Uint8Array(0);
    this.segStart = new Uint32Array(0);
    this.segEntry = new Int32Array(0);
  }

  /** Exact-size copies (a view would send its whole buffer to the worker). */
  state(): RangeTableState {
    const W = this.words;
    return {
      words: W,
      n: this.n,
      dead: this.dead,
      start: this.start.slice(0, this.n * W),
      prefix: this.prefix.slice(0, this.n),
      labels: this.labels.slice(0, this.n),
      ids: this.ids.slice(0, this.n),
      exp: this.exp.slice(0, this.n),
      parent: this.parent.slice(0, this.n),
      alive: this.alive.slice(0, this.n),
      segN: this.segN,
      segStart: this.segStart.slice(0, this.segN * W),
      segEntry: this.segEntry.slice(0, this.segN),
      overlay: Int32Array.from(this.overlay),
    };
  }

  get bytes(): number {
    const arrays = [this.start, this.prefix, this.labels, this.ids, this.exp, this.parent, this.alive, this.segStart, this.segEntry];
    return arrays.reduce((n, a) => n + a.byteLength, 0);
  }

  get size(): number {
    return this.n - this.dead;
  }

  private keyOf(w: ArrayLike<number>, at: number, prefix: number): string {
    return this.words === 1 ? `${w[at]}/${prefix}` : `${w[at]},${w[at + 1]},${w[at + 2]},${w[at + 3]}/${prefix}`;
  }

  private index(): Map<string, number> {
    if (!this.byKey) {
      this.byKey = new Map();
      for (let e = 0; e < this.n; e++) if (this.alive[e]) this.byKey.set(this.keyOf(this.start, e * this.words, this.prefix[e]!), e);
    }
    return this.byKey;
  }

  /** Appends a block during a bulk build (no index, no overlay): call `rebuild()` once at the end. */
  push(w: ArrayLike<number>, at: number, prefix: number, label: number, id: number, exp: number): number {
    const W = this.words;
    const e = this.n++;
    this.start = grown(this.start, this.n * W);
    this.prefix = grown(this.prefix, this.n);
    this.labels = grown(this.labels, this.n);
    this.ids = grown(this.ids, this.n);
    this.exp = grown(this.exp, this.n);
    this.parent = grown(this.parent, this.n);
    this.alive = grown(this.alive, this.n);
    // Host bits cleared, so lookups can compare masked addresses.
    for (let i = 0; i < W; i++) this.start[e * W + i] = (w[at + i]! & ~hostMask(prefix - 32 * i)) >>> 0;
    this.prefix[e] = prefix;
    this.labels[e] = label;
    this.ids[e] = id;
    this.exp[e] = exp;
    this.parent[e] = -1;
    this.alive[e] = 1;
    this.byKey?.set(this.keyOf(this.start, e * W, prefix), e);
    return e;
  }

  /**
   * Adds or replaces one block after the build. `defer`: leave the segments as they are even past the
   * overlay's bound (a batch of changes calls `settle()` once at its end: one rebuild, not one per 33 blocks).
   */
  set(w: ArrayLike<number>, at: number, prefix: number, label: number, id: number, exp: number, defer = false): void {
    const key = this.keyOf(w, at, prefix);
    const e = this.index().get(key);
    if (e !== undefined) {
      this.labels[e] = label;
      this.ids[e] = id;
      this.exp[e] = exp;
      return;
    }
    this.overlay.push(this.push(w, at, prefix, label, id, exp));
    if (!defer && this.overlay.length > OVERLAY_MAX) this.rebuild();
  }

  /** Whether the segments are due for a rebuild (a long overlay or many dead blocks). */
  private due(): boolean {
    return this.overlay.length > OVERLAY_MAX || (this.dead > 64 && this.dead > this.n / 4);
  }

  /** Ends a batch of deferred changes: rebuilds once if they made it due; true when it did. */
  settle(): boolean {
    if (!this.due()) return false;
    this.rebuild();
    return true;
  }

  delete(w: ArrayLike<number>, at: number, prefix: number, defer = false): boolean {
    const idx = this.index();
    const key = this.keyOf(w, at, prefix);
    const e = idx.get(key);
    if (e === undefined) return false;
    idx.delete(key);
    this.alive[e] = 0;
    this.dead++;
    const o = this.overlay.indexOf(e);
    if (o >= 0) this.overlay.splice(o, 1);
    if (!defer && this.due()) this.rebuild();
    return true;
  }

  /** Compacts away dead blocks and flattens the rest into segments. */
  rebuild(): void {
    const W = this.words;
    const order: number[] = [];
    for (let e = 0; e < this.n; e++) if (this.alive[e]) order.push(e);
    const s = this.start;
    const p = this.prefix;
    // Address order, wider blocks first at the same start: a parent comes before what it encloses.
    if (W === 1) sortV4(order, s, p);
    else
      order.sort((a, b) => {
        for (let i = 0; i < 4; i++) {
          const d = s[a * 4 + i]! - s[b * 4 + i]!;
          if (d !== 0) return d;
        }
        return p[a]! - p[b]!;
      });
    const n = order.length;
    const next = new RangeTable(W);
    next.start = new Uint32Array(n * W);
    next.prefix = new Uint8Array(n);
    next.labels = new Uint32Array(n);
    next.ids = new Uint32Array(n);
    next.exp = new Uint32Array(n);
    next.parent = new Int32Array(n);
    next.alive = new Uint8Array(n);
    let kept = 0;
    for (const e of order) {
      // The same block twice (a bulk build fed two decisions on one value): keep the one that wins.
      if (kept > 0 && p[e] === next.prefix[kept - 1] && sameStart(s, e * W, next.start, (kept - 1) * W, W)) {
        if (!wins(this.exp[e]!, this.ids[e]!, next.exp[kept - 1]!, next.ids[kept - 1]!)) continue;
        kept--;
      }
      for (let i = 0; i < W; i++) next.start[kept * W + i] = s[e * W + i]!;
      next.prefix[kept] = p[e]!;
      next.labels[kept] = this.labels[e]!;
      next.ids[kept] = this.ids[e]!;
      next.exp[kept] = this.exp[e]!;
      next.alive[kept] = 1;
      kept++;
    }
    this.n = kept;
    this.dead = 0;
    this.start = next.start;
    this.prefix = next.prefix;
    this.labels = next.labels;
    this.ids = next.ids;
    this.exp = next.exp;
    this.parent = next.parent;
    this.alive = next.alive;
    this.overlay = [];
    this.byKey = undefined;
    this.flatten();
  }

  /** Segments from the (sorted, compacted) blocks, and each block's parent. */
  private flatten(): void {
    const W = this.words;
    const n = this.n;
    const segStart = new Uint32Array((2 * n + 1) * W);
    const segEntry = new Int32Array(2 * n + 1);
    let segN = 0;
    const stack = new Int32Array(W * 32 + 2);
    let depth = 0;
    const pos = new Uint32Array(W);
    const emit = (entry: number) => {
      if (segN > 0 && sameStart(segStart, (segN - 1) * W, pos, 0, W)) {
        segEntry[segN - 1] = entry;
        return;
      }
      for (let i = 0; i < W; i++) segStart[segN * W + i] = pos[i]!;
      segEntry[segN++] = entry;
    };
    // Sets `pos` to the address after block t's end; false when t ends at the family's last address.
    const afterEnd = (t: number): boolean => {
      let carry = 1;
      for (let i = W - 1; i >= 0; i--) {
        const end = (this.start[t * W + i]! | hostMask(this.prefix[t]! - 32 * i)) >>> 0;
        const v = end + carry;
        pos[i] = v >>> 0;
        carry = v > 0xffffffff ? 1 : 0;
      }
      return carry === 0;
    };
    const endsBefore = (t: number, e: number): boolean => {
      // t's end < e's start
      for (let i = 0; i < W; i++) {
        const end = (this.start[t * W + i]! | hostMask(this.prefix[t]! - 32 * i)) >>> 0;
        const st = this.start[e * W + i]!;
        if (end !== st) return end < st;
      }
      return false;
    };
    const pop = () => {
      const t = stack[--depth]!;
      if (afterEnd(t)) emit(depth > 0 ? stack[depth - 1]! : -1);
    };
    for (let e = 0; e < n; e++) {
      while (depth > 0 && endsBefore(stack[depth - 1]!, e)) pop();
      for (let i = 0; i < W; i++) pos[i] = this.start[e * W + i]!;
      emit(e);
      this.parent[e] = depth > 0 ? stack[depth - 1]! : -1;
      stack[depth++] = e;
    }
    while (depth > 0) pop();
    this.segN = segN;
    this.segStart = segStart;
    this.segEntry = segEntry;
    this.buckets();
  }

  private buckets(): void {
    if (this.words !== 1 || this.segN < 256) {
      this.bucket = undefined;
      return;
    }
    const b = new Uint32Array(65537);
    let seg = 0;
    for (let k = 0; k <= 65536; k++) {
      while (seg < this.segN && this.segStart[seg]! >>> 16 < k) seg++;
      b[k] = seg;
    }
    this.bucket = b;
  }

  private expired(e: number, nowS: number): boolean {
    const x = this.exp[e]!;
    return x !== 0 && x <= nowS;
  }

  /** The most specific live block holding an IPv4 address, or -1. */
  find4(ip: number, nowS: number): number {
    const ss = this.segStart;
    let lo = 0;
    let hi = this.segN - 1;
    const bk = this.bucket;
    if (bk !== undefined) {
      const k = ip >>> 16;
      lo = bk[k]!;
      hi = bk[k + 1]! - 1;
    }
    let seg = lo - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (ss[mid]! <= ip) {
        seg = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    let best = seg < 0 ? -1 : this.segEntry[seg]!;
    while (best >= 0 && (this.alive[best] === 0 || this.expired(best, nowS))) best = this.parent[best]!;
    const ov = this.overlay;
    if (ov.length === 0) return best;
    let bestP = best < 0 ? -1 : this.prefix[best]!;
    for (let k = 0; k < ov.length; k++) {
      const o = ov[k]!;
      const p = this.prefix[o]!;
      if (p > bestP && ((ip & NET4[p]!) >>> 0) === this.start[o] && !this.expired(o, nowS)) {
        best = o;
        bestP = p;
      }
    }
    return best;
  }

  /** The most specific live block holding an IPv6 address (four words at `w[at]`), or -1. */
  find6(w: Uint32Array, at: number, nowS: number): number {
    const ss = this.segStart;
    let lo = 0;
    let hi = this.segN - 1;
    let seg = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp4(ss, mid * 4, w, at) <= 0) {
        seg = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    let best = seg < 0 ? -1 : this.segEntry[seg]!;
    while (best >= 0 && (this.alive[best] === 0 || this.expired(best, nowS))) best = this.parent[best]!;
    for (const o of this.overlay) {
      const p = this.prefix[o]!;
      if ((best < 0 || p > this.prefix[best]!) && this.holds6(o, w, at) && !this.expired(o, nowS)) best = o;
    }
    return best;
  }

  find(w: Uint32Array, at: number, nowS: number): number {
    return this.words === 1 ? this.find4(w[at]!, nowS) : this.find6(w, at, nowS);
  }

  private holds6(e: number, w: Uint32Array, at: number): boolean {
    const p = this.prefix[e]!;
    for (let i = 0; i < 4; i++) if (((w[at + i]! & ~hostMask(p - 32 * i)) >>> 0) !== this.start[e * 4 + i]) return false;
    return true;
  }
}

/**
 * Sorts IPv4 block indexes by (start, prefix) with the engine's native numeric sort: each becomes one 64-bit
 * key, start in the high word, prefix and index in the low one (a comparator sort of 100k took ~10× longer).
 */
function sortV4(order: number[], start: Uint32Array, prefix: Uint8Array): void {
  const n = order.length;
  if (n >= 1 << 24) {
    order.sort((a, b) => start[a]! - start[b]! || prefix[a]! - prefix[b]!);
    return;
  }
  const keys = new BigUint64Array(n);
  const words = new Uint32Array(keys.buffer);
  const hi = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
  for (let i = 0; i < n; i++) {
    const e = order[i]!;
    words[2 * i + hi] = start[e]!;
    words[2 * i + (1 - hi)] = ((prefix[e]! << 24) | i) >>> 0;
  }
  keys.sort();
  const copy = order.slice();
  for (let i = 0; i < n; i++) order[i] = copy[words[2 * i + (1 - hi)]! & 0xffffff]!;
}

function sameStart(a: Uint32Array, ia: number, b: Uint32Array, ib: number, W: number): boolean {
  for (let i = 0; i < W; i++) if (a[ia + i] !== b[ib + i]) return false;
  return true;
}

function cmp4(a: Uint32Array, ia: number, b: Uint32Array, ib: number): number {
  for (let i = 0; i < 4; i++) {
    const x = a[ia + i]!;
    const y = b[ib + i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
