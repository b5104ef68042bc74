import { V4Target, v4Key } from '../net/fast-target.js';
import { TargetList } from './target-list.js';
import { V4KeySet } from './v4-key-set.js';

export interface FeedDiff {
  /** Entries of the new list that were not in the previous one. */
  readonly added: TargetList;
  /** Canonical texts of the previous list that the new one no longer has. */
  readonly removed: string[];
  readonly unchanged: number;
}

/**
 * The entries a feed had, indexed for diffing: IPv4 as (start, prefix) keys in a typed-array set, the rest
 * as texts. Built in one pass over the store's values, which are never held as a million strings at once.
 */
export class EntryIndex {
  readonly v4 = new V4KeySet();
  readonly other = new Set<string>();

  get size(): number {
    return this.v4.size + this.other.size;
  }

  static of(texts: Iterable<string>): EntryIndex {
    const index = new EntryIndex();
    for (const text of texts) {
      const k = v4Key(text);
      if (k < 0) index.other.add(text);
      else index.v4.add(Math.floor(k / 64), k % 64);
    }
    return index;
  }
}

/**
 * What changes when `next` replaces `previous`, in O(n). IPv4 entries (nearly all of any feed) are compared
 * as (start, prefix) pairs in typed-array sets: no text is built for an unchanged entry and no Set of a
 * million strings is made, which is most of the time and memory of a 1M-entry refresh.
 * `next` must be deduplicated (ParsedList.entries is); `previous` holds canonical texts.
 */
export function diffEntries(previous: EntryIndex | Iterable<string>, next: TargetList): FeedDiff {
  const prev = previous instanceof EntryIndex ? previous : EntryIndex.of(previous);
  const next4 = new V4KeySet(next.v4Count);
  const nextOther = new Set<string>();
  const added = new TargetList();
  let unchanged = 0;
  for (let i = 0; i < next.v4Count; i++) {
    const start = next.v4Start(i);
    const prefix = next.v4Prefix(i);
    next4.add(start, prefix);
    if (prev.v4.has(start, prefix)) unchanged++;
    else added.pushV4(start, prefix);
  }
  for (const t of next.others) {
    nextOther.add(t.text);
    if (prev.other.has(t.text)) unchanged++;
    else added.push(t);
  }
  const removed: string[] = [];
  if (unchanged < prev.size) {
    prev.v4.forEach((start, prefix) => {
      if (!next4.has(start, prefix)) removed.push(new V4Target(start, prefix).text);
    });
    for (const text of prev.other) if (!nextOther.has(text)) removed.push(text);
  }
  return { added, removed, unchanged };
}
