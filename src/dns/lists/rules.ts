/*
 * What one list says, as hashes: (64-bit name hash, rule flags). A million names cost 9 bytes each once
 * compacted, instead of a million strings; the names themselves are never needed again, because a match
 * reports the part of the query name that matched.
 */

/** Rule flags; one name may carry several (a list can block a name and except one of its forms). */
export const BLOCK_EXACT = 1;
export const BLOCK_SUBTREE = 2;
export const ALLOW_EXACT = 4;
export const ALLOW_SUBTREE = 8;

export type RuleAction = 'block' | 'allow';
export type RuleScope = 'exact' | 'subtree';

export function ruleFlag(action: RuleAction, scope: RuleScope): number {
  return action === 'block' ? (scope === 'exact' ? BLOCK_EXACT : BLOCK_SUBTREE) : scope === 'exact' ? ALLOW_EXACT : ALLOW_SUBTREE;
}

/** A list's rules, dense and frozen: what the index is built from and what crosses to other processes. */
export interface RuleArrays {
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  readonly flags: Uint8Array;
  readonly count: number;
}

/** A growing set of (hash, flags) with deduplication, for the parser. */
export class RuleSet {
  private keys: Uint32Array;
  private flags: Uint8Array;
  private mask: number;
  /**
   * Slots come from the hash's top bits, as in the index: compact() then lists names in nearly the order
   * the index places them, so building the index writes its table front to back instead of at random.
   */
  private shift: number;
  private used = 0;
  /** Rules (name + flag) added; a name with two flags counts twice. */
  private ruleCount = 0;
  blockRules = 0;
  allowRules = 0;

  /** `expected`: names likely to come (a list's previous size), so a refresh does not rehash on the way. */
  constructor(expected = 0) {
    let cap = 1024;
    while (cap * 3 < expected * 4 + 4) cap *= 2;
    this.keys = new Uint32Array(2 * cap);
    this.flags = new Uint8Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  get size(): number {
    return this.used;
  }

  get rules(): number {
    return this.ruleCount;
  }

  /** Adds one rule; false when the list already had it (a duplicate line). */
  add(hi: number, lo: number, flag: number): boolean {
    if ((this.used + 1) * 4 > (this.mask + 1) * 3) this.grow();
    let i = hi >>> this.shift;
    for (;;) {
      const klo = this.keys[2 * i + 1]!;
      if (klo === 0) {
        this.keys[2 * i] = hi;
        this.keys[2 * i + 1] = lo;
        this.flags[i] = flag;
        this.used++;
        this.count(flag);
        return true;
      }
      if (klo === lo && this.keys[2 * i] === hi) {
        const f = this.flags[i]!;
        if ((f & flag) !== 0) return false;
        this.flags[i] = f | flag;
        this.count(flag);
        return true;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** Dense arrays of exactly the names held, in table order. */
  compact(): RuleArrays {
    const n = this.used;
    const hi = new Uint32Array(n);
    const lo = new Uint32Array(n);
    const flags = new Uint8Array(n);
    let j = 0;
    for (let i = 0; i <= this.mask; i++) {
      const l = this.keys[2 * i + 1]!;
      if (l === 0) continue;
      hi[j] = this.keys[2 * i]!;
      lo[j] = l;
      flags[j] = this.flags[i]!;
      j++;
    }
    return { hi, lo, flags, count: n };
  }

  private count(flag: number): void {
    this.ruleCount++;
    if (flag === BLOCK_EXACT || flag === BLOCK_SUBTREE) this.blockRules++;
    else this.allowRules++;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldFlags = this.flags;
    const cap = (this.mask + 1) * 2;
    this.keys = new Uint32Array(2 * cap);
    this.flags = new Uint8Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
    for (let i = 0; i < oldFlags.length; i++) {
      const lo = oldKeys[2 * i + 1]!;
      if (lo === 0) continue;
      const hi = oldKeys[2 * i]!;
      let j = hi >>> this.shift;
      while ((this.keys[2 * j + 1]!) !== 0) j = (j + 1) & this.mask;
      this.keys[2 * j] = hi;
      this.keys[2 * j + 1] = lo;
      this.flags[j] = oldFlags[i]!;
    }
  }
}

/** An allowlist's rules: whatever its lines say, they allow. */
export function asAllow(r: RuleArrays): RuleArrays {
  const flags = new Uint8Array(r.count);
  for (let i = 0; i < r.count; i++) {
    const f = r.flags[i]!;
    flags[i] = (f & (ALLOW_EXACT | ALLOW_SUBTREE)) | ((f & BLOCK_EXACT) !== 0 ? ALLOW_EXACT : 0) | ((f & BLOCK_SUBTREE) !== 0 ? ALLOW_SUBTREE : 0);
  }
  return { hi: r.hi, lo: r.lo, flags, count: r.count };
}
