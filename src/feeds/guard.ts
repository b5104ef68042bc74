import type { ParsedList } from './types.js';

export interface GuardVerdict {
  readonly accept: boolean;
  /** Why the list was refused, or a note worth logging about an accepted list. Plain words, one line. */
  readonly reason?: string;
}

export interface GuardOptions {
  /** Feed name for the message. */
  readonly feed?: string;
  /** What the message calls the list instead of "feed NAME" (DNS lists say "blocklist NAME"). */
  readonly subject?: string;
  /** Largest share (0..1) of data lines that may be unreadable. Default 0.5. */
  readonly maxGarbage?: number;
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const pct = (share: number): string => `${Math.round(share * 100)}%`;

/** What the guard reads of a parse: IP feeds' ParsedList, or another list kind's counts (DNS domain lists). */
export type GuardInput = Pick<ParsedList, 'lines' | 'dataLines' | 'comments' | 'blank' | 'skipped' | 'skippedSamples' | 'duplicates' | 'excludedSpecial' | 'belowMinScore'> & {
  readonly format: string;
  readonly entries: { readonly length: number };
};

/**
 * Decides whether a freshly parsed list may replace the previous one. A feed that suddenly returns an
 * error page, an empty file or a truncated download must not silently unblock everything it listed, so
 * such refreshes are refused and the previous list stays in force.
 *
 * @param previousCount entries currently loaded from this feed (undefined or 0 on the first load)
 * @param maxShrink largest share (0..1) the list may shrink by; 1 allows any shrink except to empty
 */
export function checkRefresh(
  previousCount: number | undefined,
  parsed: GuardInput,
  maxShrink: number,
  opts: GuardOptions = {},
): GuardVerdict {
  const feed = opts.subject ?? `feed ${opts.feed ?? '(unnamed)'}`;
  const prev = previousCount ?? 0;
  const next = parsed.entries.length;
  const keeping = prev > 0 ? 'keeping the previous list' : 'nothing loaded';
  const maxGarbage = opts.maxGarbage ?? 0.5;

  if (parsed.dataLines > 0 && parsed.skipped / parsed.dataLines > maxGarbage) {
    const sample = parsed.skippedSamples[0];
    const example = sample ? `, e.g. line ${sample.line}: ${JSON.stringify(sample.text)} (${sample.why})` : '';
    return {
      accept: false,
      reason:
        `${feed}: ${fmt(parsed.skipped)} of ${fmt(parsed.dataLines)} data lines (${pct(parsed.skipped / parsed.dataLines)}) ` +
        `are not valid ${parsed.format} entries${example}; is the URL or format wrong? ${keeping}`,
    };
  }
  if (next === 0) {
    if (prev > 0) {
      return {
        accept: false,
        reason: `${feed} returned no entries (${describeEmpty(parsed)}), previously ${fmt(prev)}: keeping the previous list`,
      };
    }
    return { accept: true, reason: `${feed} returned no entries (${describeEmpty(parsed)})` };
  }
  if (prev > 0 && next < prev) {
    const shrink = (prev - next) / prev;
    if (shrink > maxShrink) {
      return {
        accept: false,
        reason:
          `${feed} returned ${fmt(next)} entries, previously ${fmt(prev)} (-${pct(shrink)}, limit -${pct(maxShrink)}): ` +
          'keeping the previous list',
      };
    }
  }
  if (parsed.skipped > 0) {
    return { accept: true, reason: `${feed}: ${fmt(parsed.skipped)} unreadable lines skipped` };
  }
  return { accept: true };
}

function describeEmpty(p: GuardInput): string {
  if (p.lines === 0) return 'the body was empty';
  const parts = [`${fmt(p.lines)} lines`];
  if (p.comments + p.blank === p.lines) parts.push('all comments or blank');
  if (p.excludedSpecial > 0) parts.push(`${fmt(p.excludedSpecial)} private/special ranges left out`);
  if (p.belowMinScore > 0) parts.push(`${fmt(p.belowMinScore)} below the minimum score`);
  if (p.duplicates > 0) parts.push(`${fmt(p.duplicates)} duplicates`);
  return parts.join(', ');
}
