/*
 * Per-query answer time in a resolver worker, as histogram bucket counts. A worker counts locally (two array
 * increments per query, no message); its counts ride along with the counters report it sends every second,
 * and the daemon adds the workers' counts into the `gatehouse_dns_query_duration_seconds` histogram.
 */

/** How a query was answered: the words of the DNS module's own counters and `dns query` verdicts. */
export const DNS_RESULTS = ['blocked', 'cached', 'forwarded', 'local', 'servfail'] as const;
export type DnsResult = (typeof DNS_RESULTS)[number];

/** Indices into DNS_RESULTS, for the hot path (no string compare, no lookup). */
export const R_BLOCKED = 0;
export const R_CACHED = 1;
export const R_FORWARDED = 2;
export const R_LOCAL = 3;
export const R_SERVFAIL = 4;

/**
 * Upper bounds, seconds, shared by the workers and the histogram. A cache hit or a block is answered in
 * microseconds (the first bucket); an upstream's round trip lands between 1 ms and the upstream timeout.
 */
export const DNS_LATENCY_BOUNDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2];

/** Buckets per result: one per bound, then one above the last bound (+Inf). */
export const LATENCY_STRIDE = DNS_LATENCY_BOUNDS.length + 1;

/**
 * Counts since a worker started. `buckets[r * LATENCY_STRIDE + i]`: queries of result r whose time fell in
 * bucket i (not cumulative: in (bound[i-1], bound[i]]); `sumsMs[r]`: their summed time, milliseconds.
 */
export interface LatencyCounts {
  readonly buckets: readonly number[];
  readonly sumsMs: readonly number[];
}

export function emptyLatency(): LatencyCounts {
  return { buckets: new Array<number>(DNS_RESULTS.length * LATENCY_STRIDE).fill(0), sumsMs: new Array<number>(DNS_RESULTS.length).fill(0) };
}

/** a + b, element by element; a report of a different shape (a worker of another version) counts as empty. */
export function addLatency(a: LatencyCounts, b: LatencyCounts | undefined): LatencyCounts {
  if (!b || b.buckets.length !== a.buckets.length || b.sumsMs.length !== a.sumsMs.length) return a;
  return { buckets: a.buckets.map((v, i) => v + b.buckets[i]!), sumsMs: a.sumsMs.map((v, i) => v + b.sumsMs[i]!) };
}

const BOUNDS_MS = new Float64Array(DNS_LATENCY_BOUNDS.map((b) => b * 1000));

/** A worker's running counts: observe() is on every query's path, so typed arrays and a short linear scan. */
export class LatencyRecorder {
  private readonly buckets = new Float64Array(DNS_RESULTS.length * LATENCY_STRIDE);
  private readonly sums = new Float64Array(DNS_RESULTS.length);

  /** `result`: one of the R_* indices; `ms`: the query's time. */
  observe(result: number, ms: number): void {
    let i = 0;
    // Prometheus buckets are "less than or equal": a time equal to a bound belongs to that bound's bucket.
    while (i < BOUNDS_MS.length && ms > BOUNDS_MS[i]!) i++;
    this.buckets[result * LATENCY_STRIDE + i]!++;
    this.sums[result]! += ms;
  }

  /** A copy for the report (plain arrays: what the IPC channel carries). */
  snapshot(): LatencyCounts {
    return { buckets: Array.from(this.buckets), sumsMs: Array.from(this.sums) };
  }
}

/** One result's histogram as Prometheus shows it: cumulative counts per bound, then the total and the sum in seconds. */
export interface ResultHistogram {
  readonly result: DnsResult;
  /** `cumulative[i]`: queries answered within DNS_LATENCY_BOUNDS[i]. */
  readonly cumulative: readonly number[];
  readonly count: number;
  readonly sumSeconds: number;
}

export function latencyHistograms(c: LatencyCounts): ResultHistogram[] {
  return DNS_RESULTS.map((result, r) => {
    let acc = 0;
    const cumulative = DNS_LATENCY_BOUNDS.map((_, i) => (acc += c.buckets[r * LATENCY_STRIDE + i] ?? 0));
    const count = acc + (c.buckets[r * LATENCY_STRIDE + DNS_LATENCY_BOUNDS.length] ?? 0);
    return { result, cumulative, count, sumSeconds: (c.sumsMs[r] ?? 0) / 1000 };
  });
}
