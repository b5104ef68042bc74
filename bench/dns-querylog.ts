/**
 * The DNS query log's costs (issue #10): what a resolver worker pays per answered query, how many rows two
 * workers store per second together, and what the daemon pays for retention and `dns top` at a million rows.
 * No root needed; real SQLite files in a temporary directory.
 *
 *   node --import tsx bench/dns-querylog.ts [--rows 1000000] [--per-writer 600000] [--paced 10000]
 *
 * Prints medians; "loop stall" is the longest event-loop delay (perf_hooks) while the step ran, i.e. what an
 * answer or an API request would have waited.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { QueryLogReader, QueryLogService, QueryLogWriter, queryLogPath, type QueryLogMode, type QueryLogWriterStats, type QueryRecord } from '../src/dns/index.js';

const argv = process.argv.slice(2);
function flag(name: string, dflt: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
}

/** A plausible mix: a few thousand names with a long tail, a few dozen clients, 8 % blocked, 60 % cached. */
function makeRecord(i: number, t: number): QueryRecord {
  const n = Math.floor(5000 * Math.pow((i * 7919) % 10007 / 10007, 3));
  const c = (i * 31) % 40;
  const blocked = i % 12 === 0;
  return {
    t,
    client: `192.168.1.${c + 10}`,
    mac: `02:00:00:00:00:${(c + 16).toString(16)}`,
    clientName: `device-${c}`,
    name: `host${n}.site${n % 700}.example`,
    qtype: i % 3 === 0 ? 28 : 1,
    rcode: blocked ? 3 : 0,
    ...(blocked ? { blocked: { by: 'list' as const, what: 'stevenblack' } } : { answer: `203.0.113.${n % 250}`, upstream: i % 5 < 3 ? undefined : 'udp://9.9.9.9:53' }),
    latencyUs: blocked ? 15 : 200 + (i % 900),
    cached: !blocked && i % 5 < 3,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function pushCost(dir: string): Promise<void> {
  const n = 200_000;
  const records = Array.from({ length: n }, (_, i) => makeRecord(i, Date.now()));
  const runs: number[] = [];
  for (let run = 0; run < 7; run++) {
    // No flush during the timed loop: push alone, as the answer path pays it.
    const w = new QueryLogWriter(queryLogPath(join(dir, `push${run}`)), 'full', { maxBuffered: n, flushIntervalMs: 3600_000, batchRows: n + 1 });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) w.push(records[i]!);
    runs.push(Number(process.hrtime.bigint() - t0) / n);
    await w.close();
  }
  const off = new QueryLogWriter(join(dir, 'off.sqlite'), 'off');
  // Mode off: push returns at once.
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) off.push(records[i]!);
  const offNs = Number(process.hrtime.bigint() - t0) / n;
  console.log(`push (full):         ${median(runs).toFixed(1)} ns/op (median of 7 × ${n})`);
  console.log(`push (off):          ${offNs.toFixed(1)} ns/op`);
}

interface ChildResult {
  readonly stats: QueryLogWriterStats;
  readonly ms: number;
  readonly maxStallMs: number;
  readonly p99StallMs: number;
}

/**
 * One worker: pushes `count` records in bursts (the loop runs between, as between datagrams), flat out
 * (rate 0) or paced at `rate` records/s, then closes the writer. Reports its event-loop delay meanwhile.
 */
function child(file: string, count: number, mode: QueryLogMode, rate: number): void {
  const w = new QueryLogWriter(file, mode);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  let i = 0;
  const burst = rate > 0 ? Math.max(1, Math.round(rate / 1000)) : 1000;
  const step = () => {
    const now = Date.now();
    const end = Math.min(count, i + burst);
    for (; i < end; i++) w.push(makeRecord(i, now));
    if (i >= count) return void finish();
    if (rate > 0) setTimeout(step, Math.max(0, t0 + (i / rate) * 1000 - performance.now()));
    else setImmediate(step);
  };
  const finish = async () => {
    h.disable();
    const stall = { maxStallMs: h.max / 1e6, p99StallMs: h.percentile(99) / 1e6 };
    await w.close(600_000);
    const r: ChildResult = { stats: w.stats(), ms: performance.now() - t0, ...stall };
    process.send!(r, () => process.exit(0));
  };
  step();
}

function runChild(file: string, count: number, mode: QueryLogMode, rate: number): Promise<ChildResult> {
  return new Promise((res, rej) => {
    const c = fork(fileURLToPath(import.meta.url), ['--child', file, String(count), mode, String(rate)], { execArgv: ['--import', 'tsx'] });
    let r: ChildResult | undefined;
    c.on('message', (m) => (r = m as ChildResult));
    c.on('exit', (code) => (r ? res(r) : rej(new Error(`child exited ${code}`))));
  });
}

async function twoWriters(dir: string, perWriter: number, paced: number): Promise<void> {
  const file = queryLogPath(join(dir, 'two'));
  QueryLogReader.open(file).close();
  const t0 = performance.now();
  const rs = await Promise.all([runChild(file, perWriter, 'full', 0), runChild(file, perWriter, 'full', 0)]);
  const wall = (performance.now() - t0) / 1000;
  const written = rs.reduce((s, r) => s + r.stats.written, 0);
  const dropped = rs.reduce((s, r) => s + r.stats.dropped, 0);
  const busy = rs.reduce((s, r) => s + r.stats.busy, 0);
  console.log(`2 writers flat out:  ${Math.round(written / wall)} rows/s stored (${written} rows in ${wall.toFixed(1)} s incl. start and close; ${dropped} dropped, ${busy} busy waits)`);
  // The answer loop's cost: the same paced pushing with the log on and with it off.
  for (const mode of ['off', 'full'] as const) {
    const f = queryLogPath(join(dir, `paced-${mode}`));
    if (mode !== 'off') QueryLogReader.open(f).close();
    const ps = await Promise.all([runChild(f, paced * 5, mode, paced), runChild(f, paced * 5, mode, paced)]);
    const line = ps.map((r) => `p99 ${r.p99StallMs.toFixed(1)} ms / max ${r.maxStallMs.toFixed(1)} ms`).join('; ');
    const d = ps.reduce((s, r) => s + r.stats.dropped, 0);
    console.log(`2 writers × ${paced}/s, log ${mode.padEnd(4)}: loop delay ${line}; ${ps.reduce((s, r) => s + r.stats.written, 0)} written, ${d} dropped`);
  }
}

/** One writer, pushing in bursts of 10k with the loop free between them; resolves with rows/s stored. */
async function fill(file: string, rows: number, spanMs: number, now: number): Promise<number> {
  const w = new QueryLogWriter(file, 'full', { maxBuffered: 200_000, batchRows: 20_000 });
  const t0 = performance.now();
  for (let i = 0; i < rows; ) {
    const end = Math.min(rows, i + 10_000);
    for (; i < end; i++) w.push(makeRecord(i, now - spanMs + Math.floor((i * spanMs) / rows)));
    // Keep within the buffer: a fill must not drop.
    while (w.stats().buffered > 150_000) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setImmediate(r));
  }
  await w.close(600_000);
  if (w.stats().dropped > 0) throw new Error(`fill dropped ${w.stats().dropped} rows`);
  return rows / ((performance.now() - t0) / 1000);
}

async function timed<T>(f: () => Promise<T> | T): Promise<{ r: T; ms: number; stallMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  const r = await f();
  const ms = performance.now() - t0;
  await new Promise((res) => setTimeout(res, 5));
  h.disable();
  return { r, ms, stallMs: h.max / 1e6 };
}

async function million(dir: string, rows: number): Promise<void> {
  const now = Date.now();
  const file = queryLogPath(join(dir, 'big'));
  const rate = await fill(file, rows, 86_400_000, now);
  const reader = QueryLogReader.open(file);
  reader.db.pragma('wal_checkpoint(TRUNCATE)');
  console.log(`fill, one writer:    ${Math.round(rate)} rows/s; file ${(statSync(file).size / 1e6).toFixed(0)} MB for ${rows} rows`);

  const tops: number[] = [];
  for (let i = 0; i < 3; i++) tops.push((await timed(() => reader.top({ since: now - 86_400_000, limit: 10 }, now))).ms);
  console.log(`top (24h, ${rows} rows): ${median(tops).toFixed(0)} ms (median of 3; synchronous)`);
  const hour = (await timed(() => reader.top({ since: now - 3600_000, limit: 10 }, now))).ms;
  console.log(`top (last hour):     ${hour.toFixed(0)} ms`);
  const svc = QueryLogService.open(file);
  // The thread starts on the first question; the daemon's is long up.
  await svc.query({ limit: 1 });
  const viaThread = await timed(() => svc.top({ since: now - 86_400_000, limit: 10 }, now));
  console.log(`top via the reader thread (daemon): ${viaThread.ms.toFixed(0)} ms, daemon loop stall max ${viaThread.stallMs.toFixed(1)} ms`);
  await svc.close();
  for (const [what, f] of [
    ['log, newest 200', { limit: 200 }],
    ['log --blocked', { blocked: true, limit: 200 }],
    ['log --client IP', { client: '192.168.1.20', limit: 200 }],
    ['log --client name', { client: 'device-10', limit: 200 }],
    ['log --domain (common)', { domain: 'site1.example', limit: 200 }],
    ['log --domain (absent)', { domain: 'nowhere.test', limit: 200 }],
  ] as const) {
    const t = await timed(() => reader.query(f));
    console.log(`${(what + ':').padEnd(21)}${t.ms.toFixed(1)} ms (${t.r.length} rows)`);
  }

  // Retention as the daemon runs it: on the reader thread, chunks of 1000.
  const svc2 = QueryLogService.open(file);
  const cap = await timed(() => svc2.prune(7 * 86_400_000, rows / 2, { now }));
  console.log(`prune by cap ${rows} → ${rows / 2}: ${cap.ms.toFixed(0)} ms on the reader thread, daemon loop stall max ${cap.stallMs.toFixed(1)} ms (${cap.r.byCap} rows)`);
  const age = await timed(() => svc2.prune(0, rows, { now: now + 1 }));
  console.log(`prune by age, all:   ${age.ms.toFixed(0)} ms on the reader thread, daemon loop stall max ${age.stallMs.toFixed(1)} ms (${age.r.byAge} rows)`);
  await svc2.close();
  reader.close();

  // Prune the full million by age in one go, as after a long outage of the job.
  const file2 = queryLogPath(join(dir, 'big2'));
  await fill(file2, rows, 86_400_000, now);
  const r2 = QueryLogReader.open(file2);
  // On the calling thread, for comparison: the longest chunk is what a prune on the event loop would stall it.
  const all = await timed(() => r2.prune(0, rows * 10, { now: now + 1 }));
  console.log(`prune ${all.r.byAge} rows by age on the calling thread: ${all.ms.toFixed(0)} ms total, loop stall max ${all.stallMs.toFixed(1)} ms (chunks of 1000)`);
  r2.close();
}

if (argv[0] === '--child') {
  child(argv[1]!, Number(argv[2]), argv[3] as QueryLogMode, Number(argv[4]));
} else {
  const dir = mkdtempSync(join(tmpdir(), 'bench-qlog-'));
  try {
    console.log(`node ${process.version}, ${new Date().toISOString()}`);
    await pushCost(dir);
    await twoWriters(dir, flag('per-writer', 600_000), flag('paced', 10_000));
    await million(dir, flag('rows', 1_000_000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
