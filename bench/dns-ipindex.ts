/**
 * The DNS filter's IP index (src/dns/ipindex): build time and memory for a million outbound decisions of
 * which 100k are ranges (IPv4 and some IPv6), lookup cost per answer address for hits and misses, the cost
 * of the typed-array transfer to a resolver worker, and of deltas. In-process, no root.
 *
 *   node --import tsx bench/dns-ipindex.ts
 *   node --import tsx bench/dns-ipindex.ts --size 1000000 --ranges 100000 --rounds 7 --out bench/results/dns-ipindex-latest.json
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { parseArgs } from 'node:util';
import { IpIndex, ResolvedNames, type IpEntry } from '../src/dns/index.js';
import { v4Text, v6Text } from '../src/dns/ipindex/parse.js';
import { positiveInt } from './lib/args.js';
import { median, textTable } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '1000000' },
    ranges: { type: 'string', default: '100000' },
    /** Share of IPv6 among hosts and among ranges. */
    'v6-share': { type: 'string', default: '0.1' },
    rounds: { type: 'string', default: '7' },
    lookups: { type: 'string', default: '200000' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
});
const SIZE = positiveInt('size', args.size!);
const RANGES = positiveInt('ranges', args.ranges!);
const V6 = Number(args['v6-share']);
const ROUNDS = positiveInt('rounds', args.rounds!);
const LOOKUPS = positiveInt('lookups', args.lookups!);

let seed = positiveInt('seed', args.seed!);
function rand(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const u32 = () => Math.floor(rand() * 4294967296) >>> 0;
/** A public-looking IPv4 (first octet 1–223, not 10/127). */
function publicV4(): number {
  for (;;) {
    const v = u32();
    const a = v >>> 24;
    if (a >= 1 && a <= 223 && a !== 10 && a !== 127) return v;
  }
}
function v6Words(): Uint32Array {
  return Uint32Array.of(0x20010000 | (u32() & 0xfff), u32(), u32(), u32());
}
/** Feed-like range lengths: mostly /24, some /16–/23 and /25–/30. */
function v4Prefix(): number {
  const r = rand();
  return r < 0.6 ? 24 : r < 0.85 ? 16 + Math.floor(rand() * 8) : 25 + Math.floor(rand() * 6);
}
function v6Prefix(): number {
  return [32, 48, 56, 64, 64, 64][Math.floor(rand() * 6)]!;
}
function mask(v: number, p: number): number {
  return p === 0 ? 0 : (v & ((0xffffffff << (32 - p)) >>> 0)) >>> 0;
}

const hosts = SIZE - RANGES;
const hosts6 = Math.round(hosts * V6);
const ranges6 = Math.round(RANGES * V6);
const NOW = Date.now();
const origins = ['feed:phishing_db', 'feed:spamhaus_drop', 'crowdsec', 'manual', 'feed:firehol_level1'];

// The store's rows, as the feed reads them: words, prefix, origin/scenario, id, expiry.
interface Row {
  family: 4 | 6;
  w: Uint32Array;
  prefix: number;
  origin: string;
  id: number;
  exp: number | null;
}
const rows: Row[] = [];
let id = 0;
for (let i = 0; i < hosts - hosts6; i++) rows.push({ family: 4, w: Uint32Array.of(publicV4()), prefix: 32, origin: origins[i % 5]!, id: ++id, exp: i % 3 === 0 ? NOW + 86400_000 : null });
for (let i = 0; i < hosts6; i++) rows.push({ family: 6, w: v6Words(), prefix: 128, origin: origins[i % 5]!, id: ++id, exp: null });
for (let i = 0; i < RANGES - ranges6; i++) {
  const p = v4Prefix();
  rows.push({ family: 4, w: Uint32Array.of(mask(publicV4(), p)), prefix: p, origin: origins[i % 5]!, id: ++id, exp: null });
}
for (let i = 0; i < ranges6; i++) {
  const w = v6Words();
  const p = v6Prefix();
  for (let k = 0; k < 4; k++) w[k] = mask(w[k]!, Math.max(0, Math.min(32, p - 32 * k)));
  rows.push({ family: 6, w, prefix: p, origin: origins[i % 5]!, id: ++id, exp: null });
}

/**
 * CPU time of this process in ns: on a shared 2-core machine (load average 10–20 while eight sessions
 * work) wall time mostly measures the wait for a core; the CPU time the lookups themselves took does not.
 */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
function mem(): { heap: number; buffers: number } {
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

function buildFromRows(): IpIndex {
  const ix = IpIndex.withCapacity(hosts - hosts6, hosts6);
  for (const r of rows) ix.putWords(r.family, r.w, r.prefix, r.origin, '', '', r.id, r.exp);
  return ix.seal();
}

const out: Record<string, unknown> = { size: SIZE, ranges: RANGES, v6Share: V6, rounds: ROUNDS, lookups: LOOKUPS, node: process.version };
const table: string[][] = [];
const MB = (b: number) => `${(b / 1048576).toFixed(1)} MB`;

// --- build (words, as the daemon's feed reads the store) ---
gc();
const before = mem();
const buildMs: number[] = [];
const buildCpuMs: number[] = [];
let ix!: IpIndex;
for (let r = 0; r < Math.min(ROUNDS, 3); r++) {
  const t0 = performance.now();
  const c0 = cpuNs();
  ix = buildFromRows();
  buildMs.push(performance.now() - t0);
  buildCpuMs.push((cpuNs() - c0) / 1e6);
}
gc();
const after = mem();
out.buildMs = buildMs;
out.buildCpuMs = buildCpuMs;
out.indexBytes = ix.bytes;
out.heapDelta = after.heap - before.heap;
table.push(['build from store rows (words), wall', `${median(buildMs).toFixed(0)} ms`, `${buildMs.map((x) => x.toFixed(0)).join(' / ')}`]);
table.push(['build from store rows (words), CPU', `${median(buildCpuMs).toFixed(0)} ms`, `${buildCpuMs.map((x) => x.toFixed(0)).join(' / ')}`]);
table.push(['typed arrays of the index', MB(ix.bytes), `${ix.size.hosts} hosts, ${ix.size.ranges} ranges`]);
table.push(['JS heap besides (labels)', MB(Math.max(0, after.heap - before.heap)), 'after gc (run with --expose-gc for a clean figure)']);

// --- build from IpEntry objects (the delta/test path), 100k only: it shows the per-entry text cost ---
{
  const n = Math.min(100_000, rows.length);
  const entries: IpEntry[] = rows.slice(0, n).map((r) => ({
    target: r.family === 4 ? (r.prefix === 32 ? v4Text(r.w[0]!) : `${v4Text(r.w[0]!)}/${r.prefix}`) : r.prefix === 128 ? v6Text(r.w) : `${v6Text(r.w)}/${r.prefix}`,
    origin: r.origin,
    decisionId: r.id,
  }));
  const t0 = performance.now();
  IpIndex.build(entries);
  const ms = performance.now() - t0;
  out.buildEntries100kMs = ms;
  table.push([`build from ${n} IpEntry texts`, `${ms.toFixed(0)} ms`, `${((ms * 1000) / n).toFixed(2)} µs/entry`]);
}

// --- transfer ---
{
  const t0 = performance.now();
  const c0 = cpuNs();
  const t = ix.toTransfer();
  const bytes = serialize(t);
  const t1 = performance.now();
  const c1 = cpuNs();
  const back = IpIndex.fromTransfer(deserialize(bytes));
  const t2 = performance.now();
  const c2 = cpuNs();
  out.transfer = { serializeMs: t1 - t0, serializeCpuMs: (c1 - c0) / 1e6, deserializeMs: t2 - t1, deserializeCpuMs: (c2 - c1) / 1e6, bytes: bytes.length };
  table.push(['transfer: toTransfer + v8.serialize, wall (CPU)', `${(t1 - t0).toFixed(0)} ms`, `CPU ${((c1 - c0) / 1e6).toFixed(0)} ms; ${MB(bytes.length)} on the wire`]);
  table.push(['transfer: v8.deserialize + fromTransfer, wall (CPU)', `${(t2 - t1).toFixed(0)} ms`, `CPU ${((c2 - c1) / 1e6).toFixed(0)} ms`]);
  if (back.size.hosts !== ix.size.hosts) throw new Error('transfer lost hosts');
}

// --- transfer to a real child process (IPC, serialization 'advanced'), as to a resolver worker ---
{
  const child = fork(join(import.meta.dirname, 'lib', 'dns-ipindex-child.ts'), [], { execArgv: ['--import', 'tsx'], serialization: 'advanced' });
  // It loads tsx and the module first, and says how big it is without the index.
  const hello = await new Promise<{ rss: number }>((r) => child.once('message', (m) => r(m as never)));
  const probe = v4Text(rows[0]!.w[0]!);
  const t0 = performance.now();
  child.send({ transfer: ix.toTransfer(), probe });
  const reply = await new Promise<{ fromTransferMs: number; probe: string | null; rss: number }>((r) => child.once('message', (m) => r(m as never)));
  const ms = performance.now() - t0;
  if (reply.probe === null) throw new Error('the child did not find a host it was sent');
  out.ipc = { sendToReadyMs: ms, childFromTransferMs: reply.fromTransferMs, childRssBefore: hello.rss, childRssAfter: reply.rss };
  table.push(["transfer to a child process (IPC 'advanced'), send → usable", `${ms.toFixed(0)} ms`, `child RSS ${MB(hello.rss)} → ${MB(reply.rss)}`]);
}

// --- lookups ---
function queries(kind: 'hit-host4' | 'hit-range4' | 'miss4' | 'hit-host6' | 'hit-range6' | 'miss6'): string[] {
  const q: string[] = [];
  const pick = (f: 4 | 6, host: boolean) => {
    for (;;) {
      const r = rows[Math.floor(rand() * rows.length)]!;
      if (r.family === f && (r.prefix === (f === 4 ? 32 : 128)) === host) return r;
    }
  };
  for (let i = 0; i < LOOKUPS; i++) {
    if (kind === 'hit-host4') q.push(v4Text(pick(4, true).w[0]!));
    else if (kind === 'hit-range4') {
      const r = pick(4, false);
      q.push(v4Text((r.w[0]! | (u32() >>> r.prefix)) >>> 0));
    } else if (kind === 'miss4') q.push(v4Text(publicV4()));
    else if (kind === 'hit-host6') q.push(v6Text(pick(6, true).w));
    else if (kind === 'hit-range6') {
      const r = pick(6, false);
      const w = Uint32Array.from(r.w);
      w[3] = (w[3]! | (u32() & 0xffff)) >>> 0;
      q.push(v6Text(w));
    } else q.push(v6Text(Uint32Array.of(0x20020000 | (u32() & 0xffff), u32(), u32(), u32())));
  }
  return q;
}
const lookupNs: Record<string, { median: number; min: number; max: number; hitRate: number }> = {};
for (const kind of ['hit-host4', 'hit-range4', 'miss4', 'hit-host6', 'hit-range6', 'miss6'] as const) {
  const q = queries(kind);
  const ns: number[] = [];
  let hits = 0;
  for (let r = 0; r < ROUNDS + 1; r++) {
    hits = 0;
    const now = Date.now();
    const t0 = cpuNs();
    for (let i = 0; i < q.length; i++) if (ix.lookup(q[i]!, now) !== undefined) hits++;
    const dt = cpuNs() - t0;
    if (r > 0) ns.push(dt / q.length); // round 0 warms the JIT
  }
  lookupNs[kind] = { median: median(ns), min: Math.min(...ns), max: Math.max(...ns), hitRate: hits / q.length };
  table.push([`lookup ${kind} (string in, hit out)`, `${median(ns).toFixed(0)} ns/op`, `min ${Math.min(...ns).toFixed(0)}, max ${Math.max(...ns).toFixed(0)}; ${((hits / q.length) * 100).toFixed(1)}% hits`]);
}
out.lookupNs = lookupNs;
{
  // Without a clock argument (the index's own coarse clock) and with Date.now() per call, for comparison.
  const q = queries('miss4');
  for (const [label, fn] of [
    ['default clock', (ip: string) => ix.lookup(ip)],
    ['Date.now() per call', (ip: string) => ix.lookup(ip, Date.now())],
  ] as const) {
    const ns: number[] = [];
    for (let r = 0; r < ROUNDS + 1; r++) {
      const t0 = cpuNs();
      for (let i = 0; i < q.length; i++) fn(q[i]!);
      if (r > 0) ns.push((cpuNs() - t0) / q.length);
    }
    (out as Record<string, number>)[`lookupMiss4 ${label} ns`] = median(ns);
    table.push([`lookup miss4, ${label}`, `${median(ns).toFixed(0)} ns/op`, '']);
  }
}

// --- deltas ---
function timeDelta(label: string, make: () => Parameters<IpIndex['apply']>[0], reps = ROUNDS): void {
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const d = make();
    const t0 = cpuNs();
    ix.apply(d);
    ms.push((cpuNs() - t0) / 1e6);
  }
  (out.deltaMs as Record<string, number>)[label] = median(ms);
  table.push([`delta: ${label} (CPU)`, ms.length ? `${median(ms) < 1 ? (median(ms) * 1000).toFixed(0) + ' µs' : median(ms).toFixed(1) + ' ms'}` : '-', `median of ${reps}`]);
}
out.deltaMs = {};
timeDelta('add 1 host', () => ({ add: [{ target: v4Text(publicV4()), origin: 'manual', decisionId: ++id }], remove: [] }));
timeDelta('add 1,000 hosts + remove 1,000', () => {
  const remove: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const r = rows[Math.floor(rand() * (hosts - hosts6))]!;
    remove.push(v4Text(r.w[0]!));
  }
  return { add: Array.from({ length: 1000 }, () => ({ target: v4Text(publicV4()), origin: 'feed:x', decisionId: ++id })), remove };
});
timeDelta('add 1 range (overlay)', () => ({ add: [{ target: `${v4Text(mask(publicV4(), 24))}/24`, origin: 'manual', decisionId: ++id }], remove: [] }), 5);
timeDelta('add 40 ranges (rebuilds the v4 segments)', () => ({
  add: Array.from({ length: 40 }, () => ({ target: `${v4Text(mask(publicV4(), 24))}/24`, origin: 'feed:x', decisionId: ++id })),
  remove: [],
}), 3);
timeDelta('allowlist of 100 entries replaced', () => ({ add: [], remove: [], allow: Array.from({ length: 100 }, () => ({ target: `${v4Text(mask(publicV4(), 28))}/28` })) }), 5);
{
  // Lookup cost with a full overlay (32 added ranges waiting for the next rebuild): the worst case between rebuilds.
  for (let i = 0; i < 32; i++) ix.apply({ add: [{ target: `${v4Text(mask(publicV4(), 24))}/24`, origin: 'ov' }], remove: [] });
  const q = queries('miss4');
  const ns: number[] = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    const now = Date.now();
    const t0 = cpuNs();
    for (let i = 0; i < q.length; i++) ix.lookup(q[i]!, now);
    if (r > 0) ns.push((cpuNs() - t0) / q.length);
  }
  out.lookupMiss4FullOverlayNs = median(ns);
  table.push(['lookup miss4 with a full overlay (32 ranges)', `${median(ns).toFixed(0)} ns/op`, 'worst case between rebuilds']);
}

// --- ResolvedNames: what each answer costs the resolver (note), and the firewall's question (lookupMany) ---
{
  const names = new ResolvedNames();
  const clients = Array.from({ length: 200 }, (_, i) => `192.168.${i >> 8}.${i & 255}`);
  const answers = Array.from({ length: 50_000 }, () => [v4Text(publicV4()), v4Text(publicV4())]);
  const ns: number[] = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    const now = Date.now();
    const t0 = cpuNs();
    for (let i = 0; i < answers.length; i++) names.note(clients[i % 200]!, `n${i}.example`, answers[i]!, 300, now);
    if (r > 0) ns.push((cpuNs() - t0) / answers.length);
  }
  const pairs = Array.from({ length: 1000 }, (_, i) => ({ client: clients[(answers.length - 1 - i * 37) % 200]!, remote: answers[answers.length - 1 - i * 37]![0]! }));
  const t0 = cpuNs();
  const found = names.lookupMany(pairs, Date.now()).filter(Boolean).length;
  const askUs = (cpuNs() - t0) / 1000;
  out.resolvedNames = { noteNs: median(ns), lookupMany1000Us: askUs, entries: names.size };
  table.push(['ResolvedNames.note (1 name, 2 addresses; 100k cap full)', `${median(ns).toFixed(0)} ns/op`, 'CPU, per answer']);
  table.push(['ResolvedNames.lookupMany of 1,000 pairs', `${askUs.toFixed(0)} µs`, `${found} found`]);
}

console.log(`lookups and deltas: CPU time of this process (not wall time), load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log(`IP index: ${SIZE.toLocaleString('en-US')} decisions (${RANGES.toLocaleString('en-US')} ranges), ${V6 * 100}% IPv6, ${ROUNDS} rounds, ${LOOKUPS.toLocaleString('en-US')} lookups per round, ${process.version}`);
console.log(textTable(['what', 'median', 'notes'], table));
if (args.out) writeFileSync(args.out, JSON.stringify(out, null, 2) + '\n');
