import type { DecisionService, FreshHost } from './service.js';
import type { ImportResult, NewDecision } from './types.js';
import { durationProblem, expiryAfter } from './expiry.js';

/**
 * Lines per transaction for a bulk import in the order it came. Random values touch index pages all over
 * the file, and each commit writes every page it touched to the WAL again: at a million lines, 5,000-line
 * chunks wrote gigabytes of WAL and made the import half as slow again as 50,000-line ones.
 */
export const BULK_CHUNK = 50_000;
/**
 * Lines per transaction for lines already in value order (a feed's additions, see feeds/text-order.ts):
 * a chunk then touches only a few neighbouring index pages, so small chunks cost little, and their objects
 * die young instead of piling up as garbage for a full collection (at 50,000 a million-line feed peaked
 * at ~700 MB).
 */
export const SORTED_CHUNK = 5_000;
/** Addresses a bulk writer may queue for the kernel beyond the transaction nft is running. */
export const KERNEL_BACKLOG = 50_000;

/** The kernel side of a bulk write (see Enforcer.preload); the daemon passes the same one to imports and feeds. */
export interface BulkKernel {
  /** Hands a chunk's single addresses to the kernel while the store writes the same chunk. */
  readonly preload?: (hosts: readonly FreshHost[]) => void;
  /** The store write after a preload failed: the kernel must forget what it was handed. */
  readonly discardPreload?: () => void;
  /** Resolves once fewer than `max` preloaded addresses wait for the kernel (see Enforcer.backlogBelow). */
  readonly waitForKernel?: (max: number) => Promise<void>;
}

/** Where bulk writes go: the store, and optionally the kernel ahead of it. */
export interface BulkTarget extends BulkKernel {
  readonly decisions: Pick<DecisionService, 'addMany'>;
}

/**
 * Adds decisions in chunks of one transaction each, yielding to the event loop in between so delta polls,
 * the API and the enforcer keep running during a million-line import or feed load. Lines are pulled from
 * `items` lazily: only one chunk of NewDecision objects is alive at a time.
 */
export async function addInChunks(target: BulkTarget, items: Iterable<NewDecision>, chunkSize = BULK_CHUNK): Promise<ImportResult> {
  const total = { added: 0, updated: 0, skipped: 0, skippedSamples: [] as ImportResult['skippedSamples'][number][] };
  const it = items[Symbol.iterator]();
  let offset = 0;
  for (;;) {
    const chunk: NewDecision[] = [];
    const hosts: FreshHost[] = [];
    const now = Date.now();
    for (let step = it.next(); !step.done; step = it.next()) {
      const d = step.value;
      chunk.push(d);
      const t = d.target;
      // A line the store will refuse for its duration is not preloaded (the store skips and counts it).
      if (target.preload && t?.isHost && durationProblem(d.durationSec) === undefined) {
        hosts.push({ value: t.text, family: t.family, direction: d.direction ?? 'both', expiresAt: expiryAfter(d.durationSec, now) });
      }
      if (chunk.length === chunkSize) break;
    }
    if (chunk.length === 0) break;
    target.preload?.(hosts);
    let part: ImportResult;
    try {
      part = target.decisions.addMany(chunk);
    } catch (e) {
      target.discardPreload?.();
      throw e;
    }
    total.added += part.added;
    total.updated += part.updated;
    total.skipped += part.skipped;
    // The store numbers lines within its batch; the admin wants them within the whole list.
    for (const s of part.skippedSamples) if (total.skippedSamples.length < 10) total.skippedSamples.push({ ...s, line: s.line + offset });
    offset += chunk.length;
    if (chunk.length < chunkSize) break;
    await new Promise((resolve) => setImmediate(resolve));
    await target.waitForKernel?.(KERNEL_BACKLOG);
  }
  return total;
}
