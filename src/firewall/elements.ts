import { bytesToText, type Family } from '../net/ip.js';
import { kernelTimeoutSec } from './timeout.js';

/** nft parses huge single lines slowly and error messages point at a line: keep each add modest. */
const CHUNK = 5000;

export interface Element {
  readonly value: string;
  /** Seconds until the kernel drops it by itself; undefined = never. Clamped to what the kernel holds. */
  readonly timeoutSec?: number;
}

export function elementText(e: Element): string {
  return e.timeoutSec === undefined ? e.value : `${e.value} timeout ${kernelTimeoutSec(e.timeoutSec)}s`;
}

/** `add element` lines for many elements, chunked. */
export function renderAdd(table: string, set: string, elements: Iterable<string>): string[] {
  const lines: string[] = [];
  let chunk: string[] = [];
  for (const e of elements) {
    chunk.push(e);
    if (chunk.length === CHUNK) {
      lines.push(`add element inet ${table} ${set} { ${chunk.join(', ')} }`);
      chunk = [];
    }
  }
  if (chunk.length > 0) lines.push(`add element inet ${table} ${set} { ${chunk.join(', ')} }`);
  return lines;
}

/**
 * Removes an element whether or not the kernel still has it: nft 1.0.6 has no `destroy`, and `delete` of a
 * missing element (one the kernel already timed out) would abort the whole transaction. `add` first makes
 * the `delete` always valid; both happen in one transaction, so nothing is observable in between.
 */
export function renderEnsureAbsent(table: string, set: string, values: readonly string[]): string[] {
  if (values.length === 0) return [];
  return [...renderAdd(table, set, values), ...renderAdd(table, set, values).map((l) => l.replace(/^add /, 'delete '))];
}

export interface ByteRange {
  readonly start: Buffer;
  readonly end: Buffer;
}

/** Adds one to a big-endian address; undefined on overflow (the range ends at the last address). */
function increment(b: Buffer): Buffer | undefined {
  const out = Buffer.from(b);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i] = out[i]! + 1;
      return out;
    }
    out[i] = 0;
  }
  return undefined;
}

/**
 * Merges overlapping and adjacent ranges. Interval sets refuse overlapping elements, and feeds overlap all
 * the time (a /16 and a /24 inside it), so the kernel only ever sees the union.
 */
export function mergeRanges(ranges: Iterable<ByteRange>): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start.compare(b.start));
  const out: { start: Buffer; end: Buffer }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last) {
      const next = increment(last.end);
      if (next === undefined || r.start.compare(next) <= 0) {
        if (r.end.compare(last.end) > 0) last.end = r.end;
        continue;
      }
    }
    out.push({ start: r.start, end: r.end });
  }
  return out;
}

export function rangeText(r: ByteRange, family: Family): string {
  const a = bytesToText(r.start, family);
  return r.start.equals(r.end) ? a : `${a}-${bytesToText(r.end, family)}`;
}

/** Replaces an interval set's contents in the caller's transaction: no moment without the old or new contents. */
export function renderReplaceIntervalSet(table: string, set: string, family: Family, ranges: Iterable<ByteRange>): string[] {
  const merged = mergeRanges(ranges);
  return [`flush set inet ${table} ${set}`, ...renderAdd(table, set, merged.map((r) => rangeText(r, family)))];
}
