/**
 * Gatehouse's CrowdSec-compatible LAPI next to the real CrowdSec 1.4.6 LAPI, same machine, same run:
 *
 *  1. `GET /v1/decisions/stream?startup=true` with N active decisions, wall time to the last byte (the body is
 *     parsed afterwards and `new` must hold N), median of --runs;
 *  2. delta polls under load: --clients bouncers (one key each) × --rounds polls, spread over --period, while
 *     one decision is added per second; p50/p95/max poll latency and the startup stream measured meanwhile;
 *  3. VmRSS/VmHWM of each server after the import and after the load.
 *
 *   node --import tsx bench/lapi-stream.ts [--sizes 100000,1000000] [--runs 3] [--anchor-max 100000]
 *        [--side both|gatehouse|crowdsec] [--clients 100] [--rounds 3] [--period 10] [--cpu-prof DIR]
 *
 * Both servers listen on 127.0.0.1 inside a private namespace `ghlapi-<pid>`; the bouncer side runs there
 * too (a node process started with nsenter). Namespace, servers and temp files go away at the end, also on
 * failure or Ctrl-C. Needs root, a build (npx tsc -p tsconfig.json) and crowdsec (scripts/install-peers.sh).
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killPids, pidsInNetns, run } from '../src/lab/ns.js';
import { CROWDSEC_MISSING, crowdsecInstalled } from '../test/e2e/peers/crowdsec.js';
import { functionTimes, type CpuProfile } from './lib/cpuprofile.js';
import { CLI, ROOT } from './lib/daemon.js';
import { randomPublicIPv4 } from './lib/ips.js';
import { probeLoad, probeStartup, probeWarmUp } from './lib/lapi-probe.js';
import { medianOf, RECORDED_CROWDSEC_STARTUP_MS, renderSize, startupGoalMs, summarisePolls, type SideResult, type SizeReport } from './lib/lapi-report.js';
import { GatehouseLapi, RealCrowdsecLapi, type BenchLapi } from './lib/lapi-servers.js';
import { BenchNamespace } from './lib/netns.js';
import { formatCount, median, secs, textTable } from './lib/stats.js';
import { cleanUpOnInterrupt, positiveInt } from './lib/args.js';

export interface LapiBenchOptions {
  readonly sizes: readonly number[];
  readonly runs: number;
  /** CrowdSec runs only for sizes up to this (its import of 100k takes ~12 s; 1M would take minutes). */
  readonly anchorMax: number;
  readonly side: 'both' | 'gatehouse' | 'crowdsec';
  readonly clients: number;
  readonly rounds: number;
  readonly periodMs: number;
  readonly out: string;
  readonly seed: number;
  /** Run Gatehouse under `node --cpu-prof` and summarise where the startup streams spent their time. */
  readonly cpuProf?: string;
}

export const LAPI_DEFAULTS: LapiBenchOptions = {
  sizes: [100_000],
  runs: 3,
  anchorMax: 100_000,
  side: 'both',
  clients: 100,
  rounds: 3,
  periodMs: 10_000,
  out: join(ROOT, 'bench', 'results', 'lapi-latest.json'),
  seed: 1,
};

const GATEHOUSE_PORT = 18081;
const CROWDSEC_PORT = 18080;


export function parseLapiArgs(argv: readonly string[], base: LapiBenchOptions = LAPI_DEFAULTS): LapiBenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: 'string' },
      runs: { type: 'string' },
      'anchor-max': { type: 'string' },
      side: { type: 'string' },
      clients: { type: 'string' },
      rounds: { type: 'string' },
      period: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      'cpu-prof': { type: 'string' },
    },
  });
  const side = values.side ?? base.side;
  if (side !== 'both' && side !== 'gatehouse' && side !== 'crowdsec') throw new Error(`--side must be both, gatehouse or crowdsec, got ${side}`);
  return {
    sizes: values.sizes ? values.sizes.split(',').map((s) => positiveInt('sizes', s.trim())) : base.sizes,
    runs: values.runs ? positiveInt('runs', values.runs) : base.runs,
    anchorMax: values['anchor-max'] ? positiveInt('anchor-max', values['anchor-max']) : base.anchorMax,
    side,
    clients: values.clients ? positiveInt('clients', values.clients) : base.clients,
    rounds: values.rounds ? positiveInt('rounds', values.rounds) : base.rounds,
    periodMs: values.period ? positiveInt('period', values.period) * 1000 : base.periodMs,
    out: values.out ?? base.out,
    seed: values.seed ? positiveInt('seed', values.seed) : base.seed,
    ...(values['cpu-prof'] ? { cpuProf: values['cpu-prof'] } : base.cpuProf ? { cpuProf: base.cpuProf } : {}),
  };
}

const log = (msg: string): void => console.error(`[lapi] ${msg}`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Microseconds on CLOCK_MONOTONIC, the clock V8's .cpuprofile timestamps use: profile windows line up. */
const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

interface Windows {
  startup?: { fromUs: number; toUs: number };
  load?: { fromUs: number; toUs: number };
}

/**
 * Adds one fresh decision per second until `done` settles. A failed add is counted, not fatal: CrowdSec's
 * SQLite answers "database is locked" under poll load, and that is a result.
 */
async function addEverySecond(server: BenchLapi, fresh: readonly string[], done: Promise<unknown>): Promise<{ ms: number[]; failures: string[] }> {
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => {});
  const ms: number[] = [];
  const failures: string[] = [];
  const t0 = performance.now();
  for (let i = 0; !finished && i < fresh.length; i++) {
    await sleep(t0 + i * 1000 - performance.now());
    if (finished) break;
    try {
      ms.push(await server.addDecision(fresh[i]!));
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      failures.push(text.split('\n').slice(-1)[0]!.slice(0, 300));
    }
  }
  return { ms, failures };
}

async function measureSide(server: BenchLapi, ns: BenchNamespace, size: number, ips: readonly string[], fresh: readonly string[], work: string, o: LapiBenchOptions, windows: Windows): Promise<SideResult> {
  const who = server.side;
  log(`${who} ${formatCount(size)}: importing`);
  await server.eventLoop?.();
  const importMs = await server.importIps(ips, work);
  const memAfterImport = await server.memory();
  log(`${who} ${formatCount(size)}: import ${secs(importMs)}, VmRSS ${(memAfterImport.rssKb / 1024).toFixed(0)} MB; adding ${o.clients + 1} bouncers`);
  // Keys made after the import: a bouncer's first delta poll covers what changed since it was created.
  const [startupKey] = await server.addBouncers('bench-startup', 1);
  const keys = await server.addBouncers('bench-poll', o.clients);
  const loopImport = await server.eventLoop?.();

  windows.startup = { fromUs: monoUs(), toUs: 0 };
  const runs = await probeStartup(ns.name, server.baseUrl, startupKey!, o.runs);
  windows.startup.toUs = monoUs();
  const loopStartup = await server.eventLoop?.();
  for (const r of runs) {
    if (r.status !== 200 || r.newCount !== size) throw new Error(`${who}: startup stream answered ${r.status} with ${r.newCount} decisions in new, expected ${size}`);
  }
  log(`${who} ${formatCount(size)}: startup stream ${runs.map((r) => secs(r.ms)).join(' / ')} (${(runs[0]!.bytes / 1048576).toFixed(1)} MiB)` +
    (loopStartup ? `; event-loop delay p99 ${secs(loopStartup.p99Ms)} max ${secs(loopStartup.maxMs)}` : ''));

  const memAfterStartup = await server.memory();
  const warm = await probeWarmUp(ns.name, server.baseUrl, keys);
  await server.eventLoop?.();
  const period = o.periodMs;
  const startupAtMs = Array.from({ length: o.rounds }, (_, r) => r * period + period / 2);
  log(`${who} ${formatCount(size)}: ${o.clients} bouncers × ${o.rounds} polls over ${secs(period * o.rounds)}, 1 add/s, startup streams at ${startupAtMs.map((t) => secs(t)).join(', ')}`);
  windows.load = { fromUs: monoUs(), toUs: 0 };
  const load = probeLoad(ns.name, { baseUrl: server.baseUrl, keys, startupKey: startupKey!, rounds: o.rounds, periodMs: period, startupAtMs });
  const [loadResult, adds] = await Promise.all([load, addEverySecond(server, fresh, load)]);
  windows.load.toUs = monoUs();
  const loopLoad = await server.eventLoop?.();
  const polls = summarisePolls(loadResult);
  for (const s of loadResult.startups) {
    if (s.status !== 200 || s.newCount < size) throw new Error(`${who}: startup stream under load answered ${s.status} with ${s.newCount} decisions, expected ≥ ${size}`);
  }
  if (adds.failures.length) log(`${who}: ${adds.failures.length} adds failed during the load, e.g. ${adds.failures[0]}`);
  log(`${who} ${formatCount(size)}: polls p50 ${secs(polls.p50Ms)} p95 ${secs(polls.p95Ms)} max ${secs(polls.maxMs)}, startup under load ${loadResult.startups.map((s) => secs(s.ms)).join(' / ')}` +
    (loopLoad ? `; event-loop delay p99 ${secs(loopLoad.p99Ms)} max ${secs(loopLoad.maxMs)}` : ''));
  return {
    side: who,
    size,
    importMs,
    memAfterImport,
    memAfterStartup,
    startup: { runs, medianMs: medianOf(runs, 'ms'), medianHeadersMs: medianOf(runs, 'headersMs'), bytes: runs[0]!.bytes },
    load: {
      clients: o.clients,
      rounds: o.rounds,
      periodMs: period,
      wallMs: loadResult.wallMs,
      warmUpMaxNew: Math.max(0, ...warm.map((w) => w.newCount)),
      polls,
      startupsUnderLoad: loadResult.startups,
      startupUnderLoadMedianMs: medianOf(loadResult.startups, 'ms'),
      adds: adds.ms.length,
      addFailures: adds.failures,
      addMedianMs: median(adds.ms),
    },
    memAfterLoad: await server.memory(),
    ...(loopImport && loopStartup && loopLoad ? { eventLoop: { import: loopImport, startup: loopStartup, load: loopLoad } } : {}),
  };
}

/** Where the daemon spent the startup-stream and the poll-load windows (node --cpu-prof). */
async function profileSummary(profDir: string, keepDir: string, size: number, windows: Windows): Promise<string> {
  const [name] = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
  if (!name) return 'the daemon wrote no .cpuprofile';
  await mkdir(keepDir, { recursive: true });
  const kept = join(keepDir, `gatehouse-lapi-${size}.cpuprofile`);
  await cp(join(profDir, name), kept);
  const profile = JSON.parse(await readFile(join(profDir, name), 'utf8')) as CpuProfile;
  const parts = [`CPU profile of the Gatehouse daemon at ${formatCount(size)} (kept: ${kept})`];
  for (const [what, w] of [['startup streams, idle', windows.startup], ['poll load', windows.load]] as const) {
    if (!w) continue;
    const rows = functionTimes(profile, w)
      .filter((f) => f.name !== '(root)')
      .slice(0, 30)
      .map((f) => [secs(f.totalMs), secs(f.selfMs), f.name]);
    parts.push(`\n${what} (${secs((w.toUs - w.fromUs) / 1000)} wall):\n${textTable(['total', 'self', 'function'], rows)}`);
  }
  return parts.join('\n');
}

async function machine(): Promise<Record<string, string | number>> {
  const crowdsec = await run('crowdsec', ['-version']).then((r) => /version: (\S+)/.exec(r.stdout + r.stderr)?.[1] ?? 'unknown', () => 'not installed');
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memTotal: (await readFile('/proc/meminfo', 'utf8')).split('\n')[0] ?? '', kernel: release(), node: process.version, crowdsec: crowdsec.trim() };
}

export async function runLapiBench(o: LapiBenchOptions): Promise<SizeReport[]> {
  if (process.getuid?.() !== 0) throw new Error('needs root: the benchmark creates a network namespace');
  if (o.side !== 'crowdsec' && !existsSync(CLI)) throw new Error(`no build at ${CLI}: run npx tsc -p tsconfig.json first`);
  const crowdsecMissing = o.side !== 'gatehouse' && !crowdsecInstalled();
  if (crowdsecMissing) log(`${CROWDSEC_MISSING}; Gatehouse only`);
  const work = await mkdtemp(join(tmpdir(), 'ghlapi-'));
  const ns = await BenchNamespace.create(`ghlapi-${process.pid}`);
  const live = new Set<BenchLapi>();
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaned ??= (async () => {
      await Promise.allSettled([...live].map((s) => s.stop()));
      // Whatever still runs in the namespace (a client, a cscli) goes with it.
      await killPids(await pidsInNetns(ns.name), 3000).catch(() => []);
      await ns.remove().catch((e: unknown) => log(`could not remove namespace ${ns.name}: ${String(e)}`));
      await rm(work, { recursive: true, force: true });
    })());
  const stopWatching = cleanUpOnInterrupt(cleanup, log);

  const reports: SizeReport[] = [];
  const profiles: string[] = [];
  try {
    log(`namespace ${ns.name}, work dir ${work}`);
    for (const size of o.sizes) {
      // The same addresses on both sides; the fresh ones (added during the load) are in neither list.
      const all = randomPublicIPv4(size + 200, o.seed);
      const ips = all.slice(0, size);
      const fresh = all.slice(size);
      const report: { size: number; gatehouse?: SideResult; crowdsec?: SideResult; crowdsecSkipped?: string } = { size };
      if (o.side !== 'crowdsec') {
        const dir = join(work, `gatehouse-${size}`);
        const profDir = join(dir, 'prof');
        const windows: Windows = {};
        const g = await GatehouseLapi.start(ns, dir, GATEHOUSE_PORT, o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []);
        live.add(g);
        try {
          report.gatehouse = await measureSide(g, ns, size, ips, fresh, work, o, windows);
        } finally {
          await g.stop();
          live.delete(g);
        }
        if (o.cpuProf) profiles.push(await profileSummary(profDir, o.cpuProf, size, windows));
      }
      if (o.side !== 'gatehouse') {
        if (crowdsecMissing) report.crowdsecSkipped = 'crowdsec is not installed';
        else if (size > o.anchorMax) report.crowdsecSkipped = `N > --anchor-max ${formatCount(o.anchorMax)} (cscli import of 100k takes ~12 s)`;
        else {
          const c = await RealCrowdsecLapi.start(ns, join(work, `crowdsec-${size}`), CROWDSEC_PORT);
          live.add(c);
          try {
            report.crowdsec = await measureSide(c, ns, size, ips, fresh, work, o, {});
          } finally {
            await c.stop();
            live.delete(c);
          }
        }
      }
      reports.push(report);
      console.log(`\n${renderSize(report)}\n`);
    }
  } finally {
    stopWatching();
    await cleanup();
  }
  for (const p of profiles) console.log(`\n${p}\n`);
  await mkdir(join(o.out, '..'), { recursive: true });
  const goals = Object.fromEntries(o.sizes.flatMap((s) => (startupGoalMs(s) === undefined ? [] : [[s, startupGoalMs(s)]])));
  await writeFile(
    o.out,
    JSON.stringify(
      {
        benchmark: 'lapi-stream',
        finishedAt: new Date().toISOString(),
        options: o,
        machine: await machine(),
        goals: { startupStreamMs: goals },
        anchor: { what: 'CrowdSec 1.4.6 LAPI startup stream, recorded with curl (research/crowdsec-peer.md Task 3)', startupStreamMs: RECORDED_CROWDSEC_STARTUP_MS },
        results: reports,
      },
      null,
      2,
    ) + '\n',
  );
  log(`results written to ${o.out}`);
  return reports;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runLapiBench(parseLapiArgs(process.argv.slice(2))).catch((e: unknown) => {
    console.error(`lapi-stream: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
