import type { Target } from '../net/ip.js';
import { V4Target } from '../net/fast-target.js';

/**
 * A list of targets that keeps IPv4 entries as (start, prefix) pairs in typed arrays: 5 bytes each instead
 * of a ~70-byte object. A million-line feed is held through parse, diff and apply, and as objects it was
 * most of the daemon's live heap, which every full garbage collection walks.
 *
 * Order: IPv4 entries in the order they were added, then the others in theirs. Reading an IPv4 entry
 * builds a fresh V4Target, so nothing derived from it (its text) stays alive with the list.
 */
export class TargetList implements Iterable<Target> {
  private starts = new Uint32Array(1024);
  private prefixes = new Uint8Array(1024);
  private v4 = 0;
  private readonly rest: Target[] = [];

  get length(): number {
    return this.v4 + this.rest.length;
  }

  /** IPv4 entries, stored first. */
  get v4Count(): number {
    return this.v4;
  }

  push(t: Target): void {
    if (t instanceof V4Target) this.pushV4(t.startInt, t.prefix);
    // IPv4-mapped IPv6 input parses to a plain Target of family 4; it is the same entry as the dotted form.
    else if (t.family === 4) this.pushV4(t.start.readUInt32BE(0), t.prefix);
    else this.rest.push(t);
  }

  pushV4(start: number, prefix: number): void {
    if (this.v4 === this.starts.length) {
      const starts = new Uint32Array(this.v4 * 2);
      starts.set(this.starts);
      this.starts = starts;
      const prefixes = new Uint8Array(this.v4 * 2);
      prefixes.set(this.prefixes);
      this.prefixes = prefixes;
    }
    this.starts[this.v4] = start;
    this.prefixes[this.v4] = prefix;
    this.v4++;
  }

  /** First address of IPv4 entry `i` (0 ≤ i < v4Count), as an unsigned 32-bit number. */
  v4Start(i: number): number {
    return this.starts[i]!;
  }

  v4Prefix(i: number): number {
    return this.prefixes[i]!;
  }

  /** The non-IPv4 entries. */
  get others(): readonly Target[] {
    return this.rest;
  }

  at(i: number): Target | undefined {
    if (i < 0 || i >= this.length) return undefined;
    return i < this.v4 ? new V4Target(this.starts[i]!, this.prefixes[i]!) : this.rest[i - this.v4];
  }

  map<U>(fn: (t: Target) => U): U[] {
    const out: U[] = [];
    for (const t of this) out.push(fn(t));
    return out;
  }

  *[Symbol.iterator](): Iterator<Target> {
    for (let i = 0; i < this.v4; i++) yield new V4Target(this.starts[i]!, this.prefixes[i]!);
    yield* this.rest;
  }

  static from(targets: Iterable<Target>): TargetList {
    const list = new TargetList();
    for (const t of targets) list.push(t);
    return list;
  }
}
