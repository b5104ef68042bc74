import type { Histogram, Registry } from 'prom-client';

/** One labelled series of a histogram counted elsewhere: cumulative counts per bound, total count, sum. */
export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** `cumulative[i]`: observations ≤ bounds[i]. */
  readonly cumulative: readonly number[];
  readonly count: number;
  readonly sum: number;
}

/** One sample line as prom-client's registry prints it. */
export interface Sample {
  readonly metricName: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/** The `_bucket` (with `le`, +Inf last), `_sum` and `_count` lines of each series, in Prometheus's order. */
export function histogramSamples(name: string, bounds: readonly number[], series: readonly HistogramSeries[]): Sample[] {
  const out: Sample[] = [];
  for (const s of series) {
    if (s.cumulative.length !== bounds.length) throw new Error(`${name}: ${s.cumulative.length} bucket counts for ${bounds.length} bounds`);
    // `le` first, as prom-client's own Histogram prints it.
    bounds.forEach((le, i) => out.push({ metricName: `${name}_bucket`, labels: { le, ...s.labels }, value: s.cumulative[i]! }));
    out.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: s.count });
    out.push({ metricName: `${name}_sum`, labels: s.labels, value: s.sum });
    out.push({ metricName: `${name}_count`, labels: s.labels, value: s.count });
  }
  return out;
}

/**
 * A histogram whose buckets are counted in other processes (the DNS workers) and read whole at scrape time.
 * prom-client's Histogram takes one observation per call; replaying a second's worth of queries that way
 * would cost the daemon more than the workers spent answering them. So this registers a metric object of
 * its own: prom-client's registry only reads `name`, `type`, `help`, `get()` and `reset()` of a metric.
 */
export function registerSummedHistogram(
  registry: Registry,
  o: { readonly name: string; readonly help: string; readonly bounds: readonly number[]; readonly read: () => readonly HistogramSeries[] },
): void {
  const metric = {
    name: o.name,
    help: o.help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({ name: o.name, help: o.help, type: 'histogram', aggregator: 'sum', values: histogramSamples(o.name, o.bounds, o.read()) }),
    // The counts belong to the workers: nothing here to reset.
    reset: () => undefined,
  };
  // The registry's typings name only prom-client's own four classes; at run time it takes any such object.
  registry.registerMetric(metric as unknown as Histogram);
}
