import { join } from 'node:path';
import { ApiClient } from '../../src/cli/api-client.js';
import { BAD_ZONE, NEW_ZONE, freshNames, writeQueryFile, type NameOffset } from './dns-names.js';
import { cpuTicksEach, processTree, TICK_US } from './dns-proc.js';
import { quantile, runPerf, type PerfJob, type PerfResult } from './dnsperf.js';
import { DUT_PORT, HOST } from './dns-servers.js';

/** One server's measurements: max-qps runs per class, fixed-rate latency, CPU per query, API latency. */

export type QueryClass = 'blocked' | 'cached' | 'uncached' | 'mix' | 'badip';

export interface Run {
  readonly qps: number;
  readonly completed: number;
  readonly lost: number;
  /** Server CPU (all its processes, user+sys) per answered query, µs. */
  readonly cpuUsPerQuery: number;
  /** The same per process, root first (Gatehouse: the daemon, then its resolver workers). */
  readonly cpuUsPerQueryParts: readonly number[];
  readonly rcodes: Readonly<Record<string, number>>;
  /** The fresh-name file ran out before the time limit (raise --ceiling). */
  readonly exhausted: boolean;
}

export interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly lost: number;
  readonly cpuUsPerQuery: number;
  readonly answered: number;
}

export interface MeasureOpts {
  readonly dur: number;
  readonly latDur: number;
  readonly rate: number;
  readonly clients: number;
  readonly outstanding: number;
  /** Fresh names generated per run: enough for this many qps over `dur`. */
  readonly ceiling: number;
  readonly work: string;
  readonly files: { readonly blocked: string; readonly cached: string };
  readonly mixShares: { readonly blocked: readonly string[]; readonly hot: readonly string[] };
  readonly offset: NameOffset;
}

/** Runs dnsperf once against the server and charges the CPU its processes used meanwhile. */
export async function perfRun(root: number, job: Omit<PerfJob, 'server' | 'port'>): Promise<{ perf: PerfResult; cpuUs: number; partsUs: number[] }> {
  const pids = await processTree(root);
  const t0 = await cpuTicksEach(pids);
  const perf = await runPerf({ server: HOST, port: DUT_PORT, ...job });
  const partsUs = (await cpuTicksEach(pids)).map((t, i) => (t - t0[i]!) * TICK_US);
  return { perf, cpuUs: partsUs.reduce((a, b) => a + b, 0), partsUs };
}

/** The dnsperf input for one run of a class; fresh names are taken from the persisted offset. */
async function classFile(c: QueryClass, o: MeasureOpts): Promise<{ file: string; once: boolean; lines: number }> {
  if (c === 'blocked') return { file: o.files.blocked, once: false, lines: Infinity };
  if (c === 'cached') return { file: o.files.cached, once: false, lines: Infinity };
  const count = o.ceiling * o.dur;
  const from = await o.offset.take(count);
  const file = join(o.work, `q-${c}.txt`);
  if (c === 'uncached' || c === 'badip') {
    await writeQueryFile(file, freshNames(c === 'badip' ? BAD_ZONE : NEW_ZONE, from, count));
  } else {
    // mix: 30 % blocked, 55 % cached, 15 % uncached, interleaved the same way every run.
    const fresh = freshNames(NEW_ZONE, from, count);
    const names = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      const k = i % 20;
      names[i] = k < 6 ? o.mixShares.blocked[i % o.mixShares.blocked.length]! : k < 17 ? o.mixShares.hot[i % o.mixShares.hot.length]! : fresh[i]!;
    }
    await writeQueryFile(file, names);
  }
  return { file, once: true, lines: count };
}

export async function maxRun(root: number, c: QueryClass, o: MeasureOpts): Promise<Run> {
  const f = await classFile(c, o);
  const { perf, cpuUs, partsUs } = await perfRun(root, { file: f.file, seconds: o.dur, clients: o.clients, outstanding: o.outstanding, once: f.once });
  const per = (us: number): number => (perf.completed > 0 ? us / perf.completed : Number.NaN);
  return {
    qps: perf.qps,
    completed: perf.completed,
    lost: perf.lost,
    cpuUsPerQuery: per(cpuUs),
    cpuUsPerQueryParts: partsUs.map(per),
    rcodes: perf.rcodes,
    exhausted: f.once && perf.sent >= f.lines && perf.runSeconds < o.dur * 0.95,
  };
}

export async function latencyRun(root: number, c: 'blocked' | 'cached', o: MeasureOpts): Promise<Latency> {
  const f = await classFile(c, o);
  const { perf, cpuUs } = await perfRun(root, { file: f.file, seconds: o.latDur, clients: 4, outstanding: 500, rate: o.rate, verbose: true });
  return {
    p50: quantile(perf.latenciesMs, 0.5),
    p99: quantile(perf.latenciesMs, 0.99),
    max: quantile(perf.latenciesMs, 1),
    lost: perf.lost,
    answered: perf.completed,
    cpuUsPerQuery: perf.completed > 0 ? cpuUs / perf.completed : Number.NaN,
  };
}

/** Sends the hot set `passes` times at a modest rate so every cache (each Gatehouse worker's too) holds it. */
export async function warm(root: number, o: MeasureOpts, passes: number): Promise<void> {
  for (let i = 0; i < passes; i++) await perfRun(root, { file: o.files.cached, seconds: 30, clients: 1, outstanding: 8, once: true });
}

// ------------------------------------------------------------------------------------------ admin API

export interface ApiLatency {
  readonly idle: readonly number[];
  readonly load: readonly number[];
  /** The max-qps run the load samples were taken during. */
  readonly loadRun?: Run;
}

async function timedStatus(api: ApiClient): Promise<number> {
  const t0 = performance.now();
  await api.call('GET', '/v1/status');
  return performance.now() - t0;
}

/**
 * `GET /v1/status` over the admin socket: `samples` requests one after the other with the daemon idle, then
 * one every 20 ms during an extra max-qps blocked run (not counted among the class runs).
 */
export async function apiLatency(root: number, socket: string, o: MeasureOpts, samples: number): Promise<ApiLatency> {
  const api = new ApiClient({ socket });
  const idle: number[] = [];
  for (let i = 0; i < samples; i++) {
    idle.push(await timedStatus(api));
    await new Promise((r) => setTimeout(r, 20));
  }
  const load: number[] = [];
  let running = true;
  const poller = (async () => {
    await new Promise((r) => setTimeout(r, 300)); // let dnsperf reach full speed
    while (running) {
      load.push(await timedStatus(api));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  let loadRun: Run | undefined;
  try {
    loadRun = await maxRun(root, 'blocked', o);
  } finally {
    running = false;
    await poller;
  }
  return { idle, load, loadRun };
}

export function summarizeMs(xs: readonly number[]): { p50: number; p99: number; max: number; n: number } {
  return { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: quantile(xs, 1), n: xs.length };
}

