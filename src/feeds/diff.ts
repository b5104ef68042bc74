import type { Target } from '../net/ip.js';
import { V4Target, v4Key } from '../net/fast-target.js';
import { V4KeySet } from './v4-key-set.js';

export interface FeedDiff {
  /** Entries of the new list that were not in the previous one, in list order. */
  readonly added: Target[];
  /** Canonical texts of the previous list that the new one no longer has. */
  readonly removed: string[];
  readonly unchanged: number;
}

/**
 * What changes when `next` replaces `previous`, in O(n). IPv4 entries (nearly all of any feed) are compared
 * as (start, prefix) pairs in typed-array sets: no text is built for an unchanged entry and no Set of a
 * million strings is made, which is most of the time and memory of a 1M-entry refresh.
 * `next` must be deduplicated (ParsedList.entries is); `previous` holds canonical texts.
 */
export function diffEntries(previous: ReadonlySet<string> | Iterable<string>, next: readonly Target[]): FeedDiff {
  // Walked twice below; a one-shot iterable is copied first.
  const prev: Iterable<string> & { readonly size?: number } = previous instanceof Set || Array.isArray(previous) ? previous : [...previous];
  const prevSize = prev instanceof Set ? prev.size : (prev as readonly string[]).length;
  const prev4 = new V4KeySet(prevSize);
  const prevOther = new Set<string>();
  for (const text of prev) {
    const k = v4Key(text);
    if (k < 0) prevOther.add(text);
    else prev4.add(Math.floor(k / 64), k % 64);
  }
  const next4 = new V4KeySet(next.length);
  const nextOther = new Set<string>();
  const added: Target[] = [];
  let unchanged = 0;
  for (const t of next) {
    if (t.family === 4) {
      // IPv4-mapped IPv6 input parses to a plain Target of family 4; it must meet the same key.
      const start = t instanceof V4Target ? t.startInt : t.start.readUInt32BE(0);
      next4.add(start, t.prefix);
      if (prev4.has(start, t.prefix)) unchanged++;
      else added.push(t);
    } else {
      nextOther.add(t.text);
      if (prevOther.has(t.text)) unchanged++;
      else added.push(t);
    }
  }
  const removed: string[] = [];
  if (unchanged < prevSize) {
    for (const text of prev) {
      const k = v4Key(text);
      const kept = k < 0 ? nextOther.has(text) : next4.has(Math.floor(k / 64), k % 64);
      if (!kept) removed.push(text);
    }
  }
  return { added, removed, unchanged };
}
