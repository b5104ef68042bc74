/**
 * Set of IPv4 (start, prefix) pairs in typed arrays with open addressing. A JS Set<number> of a million
 * such keys takes ~1 s here (keys above 2^31 are heap numbers); this takes a few tens of milliseconds.
 */
export class V4KeySet {
  private starts: Uint32Array;
  /** prefix + 1; 0 marks an empty slot. */
  private prefixes: Uint8Array;
  private mask: number;
  private count = 0;

  constructor(expected = 1024) {
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    this.starts = new Uint32Array(cap);
    this.prefixes = new Uint8Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Adds the pair; returns false when it was already present. */
  add(start: number, prefix: number): boolean {
    const tag = prefix + 1;
    let i = slot(start, prefix) & this.mask;
    for (;;) {
      const p = this.prefixes[i]!;
      if (p === 0) break;
      if (p === tag && this.starts[i] === start) return false;
      i = (i + 1) & this.mask;
    }
    this.starts[i] = start;
    this.prefixes[i] = tag;
    if (++this.count * 2 > this.mask) this.grow();
    return true;
  }

  has(start: number, prefix: number): boolean {
    const tag = prefix + 1;
    let i = slot(start, prefix) & this.mask;
    for (;;) {
      const p = this.prefixes[i]!;
      if (p === 0) return false;
      if (p === tag && this.starts[i] === start) return true;
      i = (i + 1) & this.mask;
    }
  }

  /** Calls `fn` with every pair, in no particular order. */
  forEach(fn: (start: number, prefix: number) => void): void {
    for (let i = 0; i < this.prefixes.length; i++) {
      const p = this.prefixes[i]!;
      if (p !== 0) fn(this.starts[i]!, p - 1);
    }
  }

  private grow(): void {
    const oldStarts = this.starts;
    const oldPrefixes = this.prefixes;
    const cap = oldStarts.length * 2;
    this.starts = new Uint32Array(cap);
    this.prefixes = new Uint8Array(cap);
    this.mask = cap - 1;
    this.count = 0;
    for (let i = 0; i < oldStarts.length; i++) {
      const p = oldPrefixes[i]!;
      if (p !== 0) this.add(oldStarts[i]!, p - 1);
    }
  }
}

/** Multiplicative hash (Knuth); addresses in lists cluster, so the low bits alone would collide. */
function slot(start: number, prefix: number): number {
  return (Math.imul(start ^ (prefix << 26), 0x9e3779b1) >>> 7) ^ (start >>> 16);
}
