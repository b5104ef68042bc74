/**
 * Single addresses (IPv4 /32, IPv6 /128) in an open-addressing hash table of typed arrays: a million hosts
 * cost ~16 bytes a slot and no objects for the garbage collector, and the arrays cross to a worker process
 * as they are. Linear probing with backward-shift deletion, so removals leave no tombstones.
 */

/** What a table holds per slot besides the key: the decision that names it. */
export interface HostTableState {
  readonly words: 1 | 4;
  readonly cap: number;
  readonly size: number;
  readonly keys: Uint32Array;
  /** Label index + 1 (0 = empty slot). */
  readonly labels: Uint32Array;
  readonly ids: Uint32Array;
  /** Expiry in epoch seconds, rounded up; 0 = never. */
  readonly exp: Uint32Array;
}

/**
 * 0.7: a miss probes ~5 slots, but they are adjacent (one or two cache lines). Tried 0.5 (2.5 probes) on
 * 1M decisions: lookups within the noise of the shared machine, the index 34 MB instead of 25 MB per copy.
 */
const MAX_LOAD = 0.7;

function capFor(n: number): number {
  return Math.max(16, Math.ceil(n / MAX_LOAD) + 1);
}

export class HostTable {
  private words: 1 | 4;
  cap: number;
  size: number;
  keys: Uint32Array;
  labels: Uint32Array;
  ids: Uint32Array;
  exp: Uint32Array;

  constructor(words: 1 | 4, expected = 0, state?: HostTableState) {
    this.words = words;
    if (state) {
      this.cap = state.cap;
      this.size = state.size;
      this.keys = state.keys;
      this.labels = state.labels;
      this.ids = state.ids;
      this.exp = state.exp;
      return;
    }
    this.cap = capFor(expected);
    this.size = 0;
    this.keys = new Uint32Array(this.cap * words);
    this.labels = new Uint32Array(this.cap);
    this.ids = new Uint32Array(this.cap);
    this.exp = new Uint32Array(this.cap);
  }

  /** Copies: the receiver (a worker, or a second index in this process) must not share the arrays. */
  state(): HostTableState {
    return { words: this.words, cap: this.cap, size: this.size, keys: this.keys.slice(), labels: this.labels.slice(), ids: this.ids.slice(), exp: this.exp.slice() };
  }

  get bytes(): number {
    return this.keys.byteLength + this.labels.byteLength + this.ids.byteLength + this.exp.byteLength;
  }

  /** Home slot of a key: a multiplicative hash scaled onto [0, cap) (cap need not be a power of two). */
  private home(k: Uint32Array | number, at: number): number {
    let h: number;
    if (typeof k === 'number') h = Math.imul(k, 0x9e3779b1);
    else {
      h = Math.imul(k[at]!, 0x9e3779b1);
      h = Math.imul(h ^ k[at + 1]! ^ (h >>> 15), 0x85ebca6b);
      h = Math.imul(h ^ k[at + 2]! ^ (h >>> 13), 0xc2b2ae35);
      h = Math.imul(h ^ k[at + 3]! ^ (h >>> 16), 0x9e3779b1);
    }
    h ^= h >>> 16;
    return Math.floor(((h >>> 0) * this.cap) / 4294967296);
  }

  /** Slot holding an IPv4 key, or -1. */
  find4(k: number): number {
    const keys = this.keys;
    const labels = this.labels;
    const cap = this.cap;
    let h = Math.imul(k, 0x9e3779b1);
    h ^= h >>> 16;
    let i = Math.floor(((h >>> 0) * cap) / 4294967296);
    for (;;) {
      if (labels[i] === 0) return -1;
      if (keys[i] === k) return i;
      if (++i === cap) i = 0;
    }
  }

  /** Slot holding an IPv6 key (four words from `k[at]`), or -1. */
  find6(k: Uint32Array, at = 0): number {
    const keys = this.keys;
    const labels = this.labels;
    const cap = this.cap;
    let i = this.home(k, at);
    for (;;) {
      if (labels[i] === 0) return -1;
      const b = i * 4;
      if (keys[b] === k[at] && keys[b + 1] === k[at + 1] && keys[b + 2] === k[at + 2] && keys[b + 3] === k[at + 3]) return i;
      if (++i === cap) i = 0;
    }
  }

  find(k: Uint32Array, at = 0): number {
    return this.words === 1 ? this.find4(k[at]!) : this.find6(k, at);
  }

  /** Inserts or replaces. */
  set(k: Uint32Array, at: number, label: number, id: number, exp: number): void {
    let i = this.find(k, at);
    if (i < 0) {
      if (this.size + 1 > this.cap * MAX_LOAD) this.grow();
      i = this.words === 1 ? this.home(k[at]!, 0) : this.home(k, at);
      while (this.labels[i] !== 0) if (++i === this.cap) i = 0;
      for (let w = 0; w < this.words; w++) this.keys[i * this.words + w] = k[at + w]!;
      this.size++;
    }
    this.labels[i] = label + 1;
    this.ids[i] = id;
    this.exp[i] = exp;
  }

  delete(k: Uint32Array, at = 0): boolean {
    let i = this.find(k, at);
    if (i < 0) return false;
    const W = this.words;
    const cap = this.cap;
    // Backward shift: pull later members of the cluster into the hole when their home allows it.
    let j = i;
    for (;;) {
      this.labels[i] = 0;
      for (;;) {
        if (++j === cap) j = 0;
        if (this.labels[j] === 0) {
          this.size--;
          return true;
        }
        const h = W === 1 ? this.home(this.keys[j]!, 0) : this.home(this.keys, j * 4);
        // Movable when its home is not cyclically within (i, j].
        if (i <= j ? h <= i || h > j : h <= i && h > j) break;
      }
      for (let w = 0; w < W; w++) this.keys[i * W + w] = this.keys[j * W + w]!;
      this.labels[i] = this.labels[j]!;
      this.ids[i] = this.ids[j]!;
      this.exp[i] = this.exp[j]!;
      i = j;
    }
  }

  private grow(): void {
    const old = { keys: this.keys, labels: this.labels, ids: this.ids, exp: this.exp, cap: this.cap };
    this.cap = capFor(this.size * 2 + 16);
    this.keys = new Uint32Array(this.cap * this.words);
    this.labels = new Uint32Array(this.cap);
    this.ids = new Uint32Array(this.cap);
    this.exp = new Uint32Array(this.cap);
    this.size = 0;
    for (let s = 0; s < old.cap; s++) {
      if (old.labels[s] === 0) continue;
      this.set(old.keys, s * this.words, old.labels[s]! - 1, old.ids[s]!, old.exp[s]!);
    }
  }

  /** Every occupied slot (for tests and compaction). */
  *slots(): IterableIterator<number> {
    for (let s = 0; s < this.cap; s++) if (this.labels[s] !== 0) yield s;
  }
}
