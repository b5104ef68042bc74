/*
 * DNS block lists at scale: parse + build time, memory, and the per-query cost of DomainIndex.match.
 *
 *   node --import tsx bench/dns-lists.ts                 # 1,000,000 names, 7 match rounds
 *   node --import tsx bench/dns-lists.ts --size 100000 --rounds 5
 *
 * Names are the anchors' shape (../shared/research/dns-anchors.md): `<syllables>-<i base36>.<syllables>.bench`,
 * unique, written once as a domains file and once as a hosts file (`0.0.0.0 name`) in a temporary folder.
 * Per format: the file is streamed through DomainListParser in 1 MiB chunks (as fetchFeed's file reader does)
 * and the index is built with the daemon's async build (yielding every 100k rules); wall time, the longest
 * event-loop stall on the way, and the daemon's RSS/heap after it. The "resolver" row is a forked process
 * that gets only toTransfer()'s typed arrays over advanced-serialization IPC, as a worker would: its RSS
 * minus the RSS of the same process before it got the index. match ns/op: median over rounds of 200k
 * lookups each, for blocked names (the listed names), their subdomains (5 labels: found through the
 * parent-suffix lookups) and names that are not listed (3 labels).
 */
import { fork } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DomainIndex, DomainListParser, type DomainListFormat } from '../src/dns/index.js';
import { median, textTable } from './lib/stats.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};

if (process.argv.includes('--resolver-child')) {
  // The worker's view: nothing but the transferred index.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const base = process.memoryUsage();
  let idx: DomainIndex | undefined;
  // Not an async handler: its frame would keep the message (and the buffer it was decoded from) alive.
  process.once('message', (parts: Uint8Array[]) => {
    idx = DomainIndex.fromTransfer(parts);
    void settle();
  });
  const settle = async (): Promise<void> => {
    // The IPC read buffers are garbage once the message is decoded; let them go before measuring.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      gc?.();
    }
    const m = process.memoryUsage();
    process.send!({ size: idx!.size, rssMb: (m.rss - base.rss) / 2 ** 20, rssTotalMb: m.rss / 2 ** 20, baseRssMb: base.rss / 2 ** 20, arrayBuffersMb: m.arrayBuffers / 2 ** 20 }, () => process.exit(0));
  };
  process.send!('ready');
} else if (process.argv.includes('--load-child')) {
  await loadChild(process.argv[process.argv.indexOf('--load-child') + 1]!, process.argv[process.argv.indexOf('--load-child') + 2] as DomainListFormat);
} else {
  await main();
}

interface LoadFigures {
  readonly names: number;
  readonly parseMs: number;
  readonly buildMs: number;
  readonly parseCpuMs: number;
  readonly buildCpuMs: number;
  readonly maxStallMs: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly indexMb: number;
}

/**
 * The daemon's side, alone in a process (so the bench's own million strings are not in its heap): a first
 * load, then a refresh of the same list while the first parse and index are still held, as DnsLists does.
 */
async function loadChild(file: string, format: DomainListFormat): Promise<void> {
  const figures = async (expected: number, keep: unknown[]): Promise<LoadFigures> => {
    const r = await loadOnce(file, format, expected);
    keep.push(r.index);
    const m = process.memoryUsage();
    const { index, ...times } = r;
    return { ...times, rssMb: m.rss / 2 ** 20, heapMb: m.heapUsed / 2 ** 20, indexMb: index.bytes / 2 ** 20 };
  };
  const held: unknown[] = [];
  const first = await figures(0, held);
  const refresh = await figures(first.names, held);
  process.send!({ first, refresh, parts: (held[1] as DomainIndex).toTransfer() }, () => process.exit(0));
}

function runLoadChild(file: string, format: DomainListFormat): Promise<{ first: LoadFigures; refresh: LoadFigures; index: DomainIndex }> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ['--load-child', file, format], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (m: { first: LoadFigures; refresh: LoadFigures; parts: Uint8Array[] }) => {
      resolve({ first: m.first, refresh: m.refresh, index: DomainIndex.fromTransfer(m.parts) });
    });
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load child exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const size = opt('size', 1_000_000);
  const rounds = opt('rounds', 7);
  const perRound = 200_000;
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-dns-lists-'));
  const rows: string[][] = [];
  const matchRows: string[][] = [];
  const row = (label: string, r: LoadFigures): string[] => [
    label,
    r.names.toLocaleString('en-US'),
    `${(r.parseMs / 1000).toFixed(2)} s (${(r.parseCpuMs / 1000).toFixed(2)})`,
    `${(r.buildMs / 1000).toFixed(2)} s (${(r.buildCpuMs / 1000).toFixed(2)})`,
    `${((r.parseMs + r.buildMs) / 1000).toFixed(2)} s (${((r.parseCpuMs + r.buildCpuMs) / 1000).toFixed(2)})`,
    `${r.maxStallMs.toFixed(0)} ms`,
    `${r.rssMb.toFixed(0)} MB`,
    `${r.heapMb.toFixed(0)} MB`,
    `${r.indexMb.toFixed(1)} MB`,
  ];
  try {
    let blockedNames: string[];
    {
      const names = generate(size);
      writeFileSync(join(dir, 'domains.txt'), names.join('\n') + '\n');
      writeFileSync(join(dir, 'hosts.txt'), names.map((n) => `0.0.0.0 ${n}`).join('\n') + '\n');
      // Flat strings decoded from bytes, as the wire parser hands them over (not the generator's rope strings).
      blockedNames = sample(names, perRound, 1).map(wire);
    }
    let lastIndex: DomainIndex | undefined;
    for (const format of ['domains', 'hosts'] as const) {
      const r = await runLoadChild(join(dir, `${format}.txt`), format);
      if (r.first.names !== size || r.refresh.names !== size) throw new Error(`${format}: parsed ${r.first.names} names, expected ${size}`);
      rows.push(row(format, r.first), row(`${format}, refresh`, r.refresh));
      lastIndex = r.index;
      const mask = 1;
      const blocked = blockedNames;
      const deep = blocked.map((n, i) => wire(`w${i % 7}.x.${n}`));
      const clean = Array.from({ length: perRound }, (_, i) => wire(`n${i.toString(36)}.ok-new.bench`));
      const verdicts = { blocked: 'block', 'subdomain (5 labels)': format === 'hosts' ? 'none' : 'block', 'not listed': 'none' } as const;
      for (const [label, qs] of [['blocked', blocked], ['subdomain (5 labels)', deep], ['not listed', clean]] as const) {
        const want = verdicts[label];
        const v = r.index.match(qs[0]!, mask).verdict;
        if (v !== want) throw new Error(`${format} ${label}: ${qs[0]} gave ${v}, expected ${want}`);
        matchRows.push([format, label, `${nsPerOp(r.index, qs, mask, rounds).toFixed(0)} ns`]);
      }
    }
    const resolver = await resolverMemory(lastIndex!);
    console.log(`\nDNS lists: ${size.toLocaleString('en-US')} synthetic names (${process.version}, ${new Date().toISOString()}, load average ${loadavg()[0]!.toFixed(1)})\n`);
    console.log('Daemon side, in a process of its own. Wall time, CPU time of that process in brackets (the machine is shared).');
    console.log('A refresh parses the list again while the previous parse and index are still held, sized from the previous count.');
    console.log(textTable(['list', 'names', 'parse', 'build', 'parse+build', 'max stall', 'RSS after', 'heap used', 'index (transfer)'], rows));
    console.log(`\nresolver process (only the transferred index): +${resolver.rssMb.toFixed(0)} MB RSS over its idle ${resolver.baseRssMb.toFixed(0)} MB (total ${resolver.rssTotalMb.toFixed(0)} MB; tsx alone costs ~35 MB), array buffers ${resolver.arrayBuffersMb.toFixed(1)} MB, ${resolver.size.toLocaleString('en-US')} names\n`);
    console.log(textTable(['format', 'query', 'match, CPU ns/op (median of ' + rounds + ' × ' + perRound / 1000 + 'k)'], matchRows));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function wire(n: string): string {
  return Buffer.from(n, 'latin1').toString('latin1');
}

async function loadOnce(file: string, format: DomainListFormat, expectedNames = 0) {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const cpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const t0 = performance.now();
  const c0 = cpu();
  const p = new DomainListParser(format, { expectedNames });
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) p.push(chunk as string);
  const parsed = p.end();
  const t1 = performance.now();
  const c1 = cpu();
  const index = await DomainIndex.build([{ id: 0, rules: parsed.rules }]);
  const t2 = performance.now();
  const c2 = cpu();
  h.disable();
  return { names: parsed.names, index, parseMs: t1 - t0, buildMs: t2 - t1, parseCpuMs: c1 - c0, buildCpuMs: c2 - c1, maxStallMs: h.max / 1e6 };
}

function nsPerOp(index: DomainIndex, qs: readonly string[], mask: number, rounds: number): number {
  const per: number[] = [];
  let sink = 0;
  for (let r = 0; r < rounds + 1; r++) {
    // CPU time, not wall time: on a shared machine the wall clock mostly measures other processes.
    const t0 = process.cpuUsage();
    for (let i = 0; i < qs.length; i++) if (index.match(qs[i]!, mask).verdict !== 'none') sink++;
    const d = process.cpuUsage(t0);
    const ns = ((d.user + d.system) * 1000) / qs.length;
    if (r > 0) per.push(ns); // the first round warms the JIT
  }
  if (sink < 0) console.log(sink);
  return median(per);
}

function resolverMemory(index: DomainIndex): Promise<{ size: number; rssMb: number; rssTotalMb: number; baseRssMb: number; arrayBuffersMb: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ['--resolver-child'], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (m) => {
      if (m === 'ready') child.send(index.toTransfer());
      else resolve(m as { size: number; rssMb: number; rssTotalMb: number; baseRssMb: number; arrayBuffersMb: number });
    });
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`resolver child exited ${code}`))));
  });
}

/** Deterministic anchor-shaped names: `<syllables>-<i base36>.<syllables>.bench`. */
function generate(n: number): string[] {
  const syl = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'zu', 'be', 'do', 'fi', 'ga', 'hu', 'je', 'po'];
  let seed = 42;
  const rnd = (k: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % k;
  };
  const word = (min: number, max: number): string => {
    let w = '';
    for (let i = min + rnd(max - min + 1); i > 0; i--) w += syl[rnd(syl.length)];
    return w;
  };
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = `${word(2, 4)}-${i.toString(36)}.${word(1, 3)}.bench`;
  return out;
}

function sample(names: readonly string[], k: number, seed: number): string[] {
  let s = seed;
  const out: string[] = [];
  for (let i = 0; i < k; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(names[s % names.length]!);
  }
  return out;
}
