import { setImmediate as nextTurn } from 'node:timers/promises';
import { suffixHashes, suffixScratch } from './hash.js';
import { ALLOW_EXACT, ALLOW_SUBTREE, BLOCK_EXACT, BLOCK_SUBTREE, type RuleArrays } from './rules.js';

/** Bit i = list id i; at most 32 lists (blocklists and allowlists together). */
export type ListMask = number;

export const MAX_LISTS = 32;

export interface DomainMatch {
  readonly verdict: 'block' | 'allow' | 'none';
  /** The list that decided (the lowest id when several did). */
  readonly list?: number;
  /** The part of the query name the rule names: the name itself, or the parent whose subtree it is in. */
  readonly matched?: string;
}

/** One list's rules as the index takes them. */
export interface IndexSource {
  /** 0..31 */
  readonly id: number;
  readonly rules: RuleArrays;
}

/*
 * Open addressing with linear probing over one Uint32Array, 6 words per slot:
 *   [hash hi, hash lo, blockExact, blockSubtree, allowExact, allowSubtree] — the last four are ListMasks.
 * lo = 0 marks an empty slot (hashes never have lo = 0). One slot is 24 bytes, one cache line holds it.
 */
const STRIDE = 6;
const BE = 2;
const BS = 3;
const AE = 4;
const AS = 5;
/** Below this load a miss ends after ~2.8 probes on average (linear probing: ½(1 + 1/(1-α)²)). */
const LOAD = 0.6;
const META_VERSION = 1;
const NONE: DomainMatch = Object.freeze({ verdict: 'none' });
const scratch = suffixScratch();

function lowestBit(bits: number): number {
  return 31 - Math.clz32(bits & -bits);
}

export class DomainIndex {
  private readonly table: Uint32Array;
  private readonly slots: number;
  /** Distinct names held. */
  readonly size: number;

  private constructor(table: Uint32Array, size: number) {
    this.table = table;
    this.slots = table.length / STRIDE;
    this.size = size;
  }

  static empty(): DomainIndex {
    return new DomainIndex(new Uint32Array(STRIDE), 0);
  }

  /** Bytes of the table (what a worker holds and what crosses the IPC channel). */
  get bytes(): number {
    return this.table.byteLength;
  }

  /**
   * The verdict for a query name (lower case, no trailing dot, as the wire parser gives it) for the lists
   * in `mask`. The name itself is checked against exact and subtree rules, each parent against subtree
   * rules; an allow rule anywhere wins over every block. The broadest matching rule is reported.
   */
  match(name: string, mask: ListMask): DomainMatch {
    if (mask === 0 || this.size === 0) return NONE;
    const k = suffixHashes(name, scratch);
    const t = this.table;
    let blockBits = 0;
    let blockAt = -1;
    for (let j = 0; j < k; j++) {
      const s = this.find(scratch.hi[j]!, scratch.lo[j]!);
      if (s < 0) continue;
      const full = j === k - 1;
      const allow = (t[s + AS]! | (full ? t[s + AE]! : 0)) & mask;
      if (allow !== 0) return { verdict: 'allow', list: lowestBit(allow), matched: name.slice(scratch.start[j]!) };
      if (blockAt < 0) {
        const block = (t[s + BS]! | (full ? t[s + BE]! : 0)) & mask;
        if (block !== 0) {
          blockBits = block;
          blockAt = j;
        }
      }
    }
    if (blockAt < 0) return NONE;
    return { verdict: 'block', list: lowestBit(blockBits), matched: name.slice(scratch.start[blockAt]!) };
  }

  /** The index as typed arrays for another process (structured clone / 'advanced' IPC): [table, meta]. */
  toTransfer(): Uint8Array[] {
    const meta = new Uint32Array([META_VERSION, this.size]);
    return [new Uint8Array(this.table.buffer, this.table.byteOffset, this.table.byteLength), new Uint8Array(meta.buffer)];
  }

  static fromTransfer(parts: readonly Uint8Array[]): DomainIndex {
    const [tablePart, metaPart] = parts;
    if (tablePart === undefined || metaPart === undefined) throw new Error('DomainIndex.fromTransfer: expected [table, meta]');
    const meta = words(metaPart);
    if (meta[0] !== META_VERSION || meta.length < 2) throw new Error(`DomainIndex.fromTransfer: unknown layout version ${meta[0]}`);
    const table = words(tablePart);
    if (table.length === 0 || table.length % STRIDE !== 0) throw new Error('DomainIndex.fromTransfer: table size is not a whole number of slots');
    const size = meta[1]!;
    // A full table would make a miss probe forever.
    if (size >= table.length / STRIDE) throw new Error('DomainIndex.fromTransfer: table has no free slot');
    return new DomainIndex(table, size);
  }

  private find(hi: number, lo: number): number {
    const t = this.table;
    const n = this.slots;
    let i = Math.floor((hi * n) / 4294967296);
    for (;;) {
      const s = i * STRIDE;
      const l = t[s + 1]!;
      if (l === 0) return -1;
      if (l === lo && t[s] === hi) return s;
      if (++i === n) i = 0;
    }
  }

  /** Builds the merged index; `pause` is awaited every `every` rules so a big build leaves the event loop room. */
  static async build(sources: readonly IndexSource[], pause: () => Promise<unknown> = () => nextTurn(), every = 100_000): Promise<DomainIndex> {
    const b = new IndexBuilder(sources);
    let since = 0;
    for (const src of sources) {
      const r = src.rules;
      for (let i = 0; i < r.count; i++) {
        b.add(r.hi[i]!, r.lo[i]!, r.flags[i]!, src.id);
        if (++since === every) {
          since = 0;
          await pause();
        }
      }
    }
    return b.done();
  }

  static buildSync(sources: readonly IndexSource[]): DomainIndex {
    const b = new IndexBuilder(sources);
    for (const src of sources) {
      const r = src.rules;
      for (let i = 0; i < r.count; i++) b.add(r.hi[i]!, r.lo[i]!, r.flags[i]!, src.id);
    }
    return b.done();
  }

  /** For the index builder only. */
  static fromTable(table: Uint32Array, size: number): DomainIndex {
    return new DomainIndex(table, size);
  }
}

class IndexBuilder {
  private readonly t: Uint32Array;
  private readonly n: number;
  private size = 0;

  constructor(sources: readonly IndexSource[]) {
    let total = 0;
    for (const s of sources) {
      if (!Number.isInteger(s.id) || s.id < 0 || s.id >= MAX_LISTS) throw new Error(`list id ${s.id} is outside 0..${MAX_LISTS - 1}`);
      total += s.rules.count;
    }
    // Names several lists share take one slot, so the real load is at most LOAD.
    this.n = Math.max(8, Math.ceil(total / LOAD));
    this.t = new Uint32Array(this.n * STRIDE);
  }

  add(hi: number, lo: number, flags: number, id: number): void {
    const t = this.t;
    let i = Math.floor((hi * this.n) / 4294967296);
    let s: number;
    for (;;) {
      s = i * STRIDE;
      const l = t[s + 1]!;
      if (l === 0) {
        t[s] = hi;
        t[s + 1] = lo;
        this.size++;
        break;
      }
      if (l === lo && t[s] === hi) break;
      if (++i === this.n) i = 0;
    }
    const bit = (1 << id) >>> 0;
    if (flags & BLOCK_EXACT) t[s + BE] = t[s + BE]! | bit;
    if (flags & BLOCK_SUBTREE) t[s + BS] = t[s + BS]! | bit;
    if (flags & ALLOW_EXACT) t[s + AE] = t[s + AE]! | bit;
    if (flags & ALLOW_SUBTREE) t[s + AS] = t[s + AS]! | bit;
  }

  done(): DomainIndex {
    return DomainIndex.fromTable(this.t, this.size);
  }
}

/** A Uint32Array over a transferred part; copied when the part is not 4-byte aligned. */
function words(part: Uint8Array): Uint32Array {
  if (part.byteLength % 4 !== 0) throw new Error('DomainIndex.fromTransfer: part length is not a multiple of 4');
  if (part.byteOffset % 4 === 0) return new Uint32Array(part.buffer, part.byteOffset, part.byteLength / 4);
  return new Uint32Array(part.slice().buffer);
}
