/**
 * What timing each DNS answer for gatehouse_dns_query_duration_seconds adds to a worker's hot path, in ns per
 * query, median of several rounds: the two clock readings (taken anyway when the query log is on, the
 * default) and LatencyRecorder.observe (a bucket scan and two typed-array increments). Compare with the
 * chain's whole cost per query (bench/dns-chain.ts: ~1.5-3 µs for a cached or blocked answer).
 *
 *   node --import tsx bench/dns-latency.ts [--rounds 7] [--n 5000000]
 */
import { parseArgs } from 'node:util';
import { DNS_RESULTS, LatencyRecorder } from '../src/dns/latency.js';
import { median, textTable } from './lib/stats.js';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, n: { type: 'string', default: '5000000' } } });
const LOAD_AT_START = loadavg()[0]!;
const ROUNDS = Number(values.rounds);
const N = Number(values.n);

// Answer times as a worker sees them: mostly microseconds (cache, blocks), some upstream round trips.
const times = Float64Array.from({ length: 4096 }, (_, i) => (i % 8 === 0 ? 5 + (i % 300) : 0.002 + (i % 17) * 0.001));

function nsPerOp(body: (i: number) => number): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) sink += body(i);
  const ns = Number(process.hrtime.bigint() - t0) / N;
  if (sink === -1) console.log(sink);
  return ns;
}

const rec = new LatencyRecorder();
const rows: Record<string, number[]> = { 'empty loop': [], 'observe()': [], '2 × performance.now()': [], 'both (query log off)': [] };
for (let r = 0; r < ROUNDS; r++) {
  rows['empty loop']!.push(nsPerOp((i) => times[i & 4095]!));
  rows['observe()']!.push(nsPerOp((i) => (rec.observe(i % DNS_RESULTS.length, times[i & 4095]!), 0)));
  rows['2 × performance.now()']!.push(nsPerOp(() => performance.now() - performance.now()));
  rows['both (query log off)']!.push(nsPerOp((i) => {
    const t = performance.now();
    rec.observe(i % DNS_RESULTS.length, performance.now() - t);
    return 0;
  }));
}
const table = textTable(['step', 'ns/query (median)', 'rounds'], Object.entries(rows).map(([k, v]) => [k, median(v).toFixed(1), v.map((x) => x.toFixed(1)).join(' ')]));
const md = [
  '# What timing each DNS answer costs (bench/dns-latency.ts)',
  '',
  `${new Date().toISOString()} · ${cpus()[0]?.model ?? '?'} · load average at the start ${LOAD_AT_START.toFixed(1)}`,
  '',
  '```',
  `node --import tsx bench/dns-latency.ts --rounds ${ROUNDS} --n ${N}`,
  '```',
  '',
  'Each row includes the loop itself ("empty loop"): the added cost of a step is its row minus that one.',
  '',
  table,
  '',
].join('\n');
writeFileSync(join(import.meta.dirname, 'results', 'dns-latency-latest.md'), md);
console.log(md);
