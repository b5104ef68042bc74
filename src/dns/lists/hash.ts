/*
 * 64-bit name hashes, as two independent 32-bit lanes, computed label by label from the right: the state
 * after the last label of "a.b.example.com" read so far IS the hash of that suffix, so one pass over a
 * query name yields the hashes of "com", "example.com", "b.example.com" and "a.b.example.com" — every
 * name the index must look up for a subtree match. The input is the labels right to left, each left to
 * right, separated by '.', which no label contains: distinct label sequences give distinct inputs.
 *
 * False positives need both lanes to collide. With n entries and a query of k labels the chance of any
 * false match is about k·n / 2^64: 5 labels against 1M entries ≈ 2.7e-13 per query, one in 3.7e12 queries.
 */

const SEED_A = 0x811c9dc5;
const SEED_B = 0x3c6ef372;
const PRIME_A = 0x01000193;
const PRIME_B = 0x5bd1e995;
const DOT = 46;

/** Most names have at most 127 labels (253 characters); anything longer is not a name. */
export const MAX_LABELS = 128;

/** murmur3's finaliser: spreads every input bit over the word, which the per-character steps alone do not. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Scratch output of suffixHashes, reused across calls so a lookup allocates nothing: entry k is the
 * suffix made of the k+1 rightmost labels, starting at `start[k]` in the name.
 */
export interface SuffixScratch {
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  readonly start: Int32Array;
}

export function suffixScratch(): SuffixScratch {
  return { hi: new Uint32Array(MAX_LABELS), lo: new Uint32Array(MAX_LABELS), start: new Int32Array(MAX_LABELS) };
}

/**
 * Hashes every suffix of `name` (lower case, no trailing dot), shortest first; returns how many. The lo
 * lane is never 0: the index uses lo = 0 to mark empty slots. Names beyond MAX_LABELS labels return 0.
 */
export function suffixHashes(name: string, out: SuffixScratch): number {
  let a = SEED_A;
  let b = SEED_B;
  let end = name.length;
  let k = 0;
  while (end > 0) {
    if (k === MAX_LABELS) return 0;
    const dot = name.lastIndexOf('.', end - 1);
    const from = dot + 1;
    if (k > 0) {
      a = Math.imul(a ^ DOT, PRIME_A);
      b = Math.imul(((b << 5) | (b >>> 27)) ^ DOT, PRIME_B);
    }
    for (let i = from; i < end; i++) {
      const c = name.charCodeAt(i);
      a = Math.imul(a ^ c, PRIME_A);
      b = Math.imul(((b << 5) | (b >>> 27)) ^ c, PRIME_B);
    }
    out.hi[k] = fmix32(a);
    out.lo[k] = fmix32(b ^ 0x9e3779b9) || 1;
    out.start[k] = from;
    k++;
    end = dot;
  }
  return k;
}

const one = suffixScratch();

/** The whole name's 64-bit hash as [hi, lo]: the last of its suffix hashes. Undefined for '' or absurd names. */
export function nameHash(name: string): [number, number] | undefined {
  const k = suffixHashes(name, one);
  if (k === 0) return undefined;
  return [one.hi[k - 1]!, one.lo[k - 1]!];
}
