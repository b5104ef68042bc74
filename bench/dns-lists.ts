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
import { tmpdir } from 'node:os';
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
} else {
  await main();
}

async function main(): Promise<void> {
  const size = opt('size', 1_000_000);
  const rounds = opt('rounds', 7);
  const perRound = 200_000;
  const names = generate(size);
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-dns-lists-'));
  const rows: string[][] = [];
  const matchRows: string[][] = [];
  try {
    writeFileSync(join(dir, 'domains.txt'), names.join('\n') + '\n');
    writeFileSync(join(dir, 'hosts.txt'), names.map((n) => `0.0.0.0 ${n}`).join('\n') + '\n');
    let lastIndex: DomainIndex | undefined;
    for (const [format, label, expected] of [['domains', 'domains', 0], ['hosts', 'hosts', 0], ['domains', 'domains, refresh', size]] as const) {
      (globalThis as { gc?: () => void }).gc?.();
      // A refresh knows the list's previous size and sizes its table once (no rehash on the way).
      const r = await loadOnce(join(dir, `${format}.txt`), format, expected);
      if (r.names !== size) throw new Error(`${format}: parsed ${r.names} names, expected ${size}`);
      const m = process.memoryUsage();
      rows.push([
        label,
        size.toLocaleString('en-US'),
        `${(r.parseMs / 1000).toFixed(2)} s (${(r.parseCpuMs / 1000).toFixed(2)})`,
        `${(r.buildMs / 1000).toFixed(2)} s (${(r.buildCpuMs / 1000).toFixed(2)})`,
        `${((r.parseMs + r.buildMs) / 1000).toFixed(2)} s (${((r.parseCpuMs + r.buildCpuMs) / 1000).toFixed(2)})`,
        `${r.maxStallMs.toFixed(0)} ms`,
        `${(m.rss / 2 ** 20).toFixed(0)} MB`,
        `${(m.heapUsed / 2 ** 20).toFixed(0)} MB`,
        `${(r.index.bytes / 2 ** 20).toFixed(1)} MB`,
      ]);
      lastIndex = r.index;
      if (expected > 0) continue;
      const mask = 1;
      const blocked = sample(names, perRound, 1);
      const deep = blocked.map((n, i) => `w${i % 7}.x.${n}`);
      const clean = Array.from({ length: perRound }, (_, i) => `n${i.toString(36)}.ok-new.bench`);
      const verdicts = { blocked: 'block', 'subdomain (5 labels)': format === 'hosts' ? 'none' : 'block', 'not listed': 'none' } as const;
      for (const [label, qs] of [['blocked', blocked], ['subdomain (5 labels)', deep], ['not listed', clean]] as const) {
        const want = verdicts[label];
        const v = r.index.match(qs[0]!, mask).verdict;
        if (v !== want) throw new Error(`${format} ${label}: ${qs[0]} gave ${v}, expected ${want}`);
        matchRows.push([format, label, `${nsPerOp(r.index, qs, mask, rounds).toFixed(0)} ns`]);
      }
    }
    const resolver = await resolverMemory(lastIndex!);
    console.log(`\nDNS lists: ${size.toLocaleString('en-US')} synthetic names (${process.version}, ${new Date().toISOString()})\n`);
    console.log('wall time (CPU time of this process in brackets; the machine is shared)');
    console.log(textTable(['format', 'names', 'parse', 'build', 'parse+build', 'max stall', 'daemon RSS', 'heap used', 'index (transfer)'], rows));
    console.log(`\nresolver process (only the transferred index): +${resolver.rssMb.toFixed(0)} MB RSS over its idle ${resolver.baseRssMb.toFixed(0)} MB (total ${resolver.rssTotalMb.toFixed(0)} MB), array buffers ${resolver.arrayBuffersMb.toFixed(1)} MB, ${resolver.size.toLocaleString('en-US')} names\n`);
    console.log(textTable(['format', 'query', 'match, CPU ns/op (median of ' + rounds + ' × ' + perRound / 1000 + 'k)'], matchRows));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
