import type { Target } from '../net/ip.js';

export interface FeedDiff {
  /** Entries of the new list that were not in the previous one, in list order. */
  readonly added: Target[];
  /** Canonical texts of the previous list that the new one no longer has. */
  readonly removed: string[];
  readonly unchanged: number;
}

/**
 * What changes when `next` replaces `previous`: O(n) with one Set lookup per entry, so a 1M-entry feed
 * refresh touches only the handful of entries that really changed.
 * `next` must be deduplicated (ParsedList.entries is).
 */
export function diffEntries(previous: ReadonlySet<string> | Iterable<string>, next: readonly Target[]): FeedDiff {
  const prev = previous instanceof Set ? (previous as ReadonlySet<string>) : new Set(previous);
  const added: Target[] = [];
  const nextTexts = new Set<string>();
  let unchanged = 0;
  for (const t of next) {
    const text = t.text;
    nextTexts.add(text);
    if (prev.has(text)) unchanged++;
    else added.push(t);
  }
  const removed: string[] = [];
  if (unchanged < prev.size) {
    for (const text of prev) if (!nextTexts.has(text)) removed.push(text);
  }
  return { added, removed, unchanged };
}
