import { bytesToText, type Family } from '../net/ip.js';
import { mergeRanges, type ByteRange } from '../net/ranges.js';
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

export function rangeText(r: ByteRange, family: Family): string {
  const a = bytesToText(r.start, family);
  return r.start.equals(r.end) ? a : `${a}-${bytesToText(r.end, family)}`;
}

/** Replaces an interval set's contents in the caller's transaction: no moment without the old or new contents. */
export function renderReplaceIntervalSet(table: string, set: string, family: Family, ranges: Iterable<ByteRange>): string[] {
  const merged = mergeRanges(ranges);
  return [`flush set inet ${table} ${set}`, ...renderAdd(table, set, merged.map((r) => rangeText(r, family)))];
}
