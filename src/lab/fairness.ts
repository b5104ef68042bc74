/** Figures for the fairness and latency runs. Pure. */

/**
 * Jain's fairness index (Jain, Chiu, Hawe 1984): (Σx)² / (n·Σx²). 1 when every client gets the same,
 * 1/n when one client takes everything.
 */
export function jainIndex(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('jainIndex of no values');
  if (xs.some((x) => !Number.isFinite(x) || x < 0)) throw new Error(`jainIndex needs finite non-negative values: ${xs.join(', ')}`);
  const sum = xs.reduce((a, b) => a + b, 0);
  const squares = xs.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (xs.length * squares);
}

/** Nearest-rank percentile (p in 0..100) of the samples; NaN for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export interface LatencySummary {
  readonly samples: number;
  readonly lost: number;
  readonly p50: number;
  readonly p99: number;
}

export function summarize(samples: readonly number[], lost: number): LatencySummary {
  return { samples: samples.length, lost, p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

export const mbit = (bps: number): string => (bps / 1e6).toFixed(1);
