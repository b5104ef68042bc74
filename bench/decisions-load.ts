/**
 * Load speed of the reputation firewall: `gatehouse decisions import` of N random public IPv4 addresses
 * until the kernel enforces all of them, next to one raw `nft -f` of the same addresses and the anchor
 * (Debian's crowdsec-firewall-bouncer 0.0.25).
 *
 *   node --import tsx bench/decisions-load.ts --sizes 10000,100000,1000000 --runs 3 --anchor recorded
 *
 * Needs root (a private network namespace) and a build (npx tsc -p tsconfig.json).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { figureFor, liveUnavailableReason, loadRecordedAnchor, type AnchorMode, type RecordedAnchor } from './lib/anchor.js';
import { BenchDaemon, CLI, ROOT, type Memory } from './lib/daemon.js';
import { absentPublicIPv4, randomPublicIPv4 } from './lib/ips.js';
import { countElements, holdsAll, rawNftLoad, spreadSample } from './lib/kernel.js';
import { BenchNamespace } from './lib/netns.js';
import { runBouncerLive } from './lib/bouncer-live.js';
import { run } from '../src/lab/ns.js';
import { formatCount, median, mib, secs, summary, textTable } from './lib/stats.js';
import { cleanUpOnInterrupt, positiveInt } from './lib/args.js';

const TABLE = 'gatehouse';
const SET = 'both_ip4';
/** Goals from the issue; sizes without a goal show "-". */
const IMPORT_GOAL_MS: Readonly<Record<number, number>> = { 100_000: 2_000, 1_000_000: 15_000 };
const RSS_GOAL_KB = 300 * 1024;
const ADD_GOAL_MS = 1_000;
/** Above this a full `nft -j list set` takes tens of seconds: check a sample instead. */
const FULL_COUNT_MAX = 200_000;
/** `nft get element` reads the whole set on nft 1.0.6 (~30 s at 1M), so one command of 100 addresses. */
const SAMPLE = 100;

export interface LoadOptions {
  readonly sizes: readonly number[];
  readonly runs: number;
  /** Runs for sizes of 1,000,000 and up, which take minutes each. */
  readonly largeRuns: number;
  readonly anchor: AnchorMode;
  /** With --anchor live, larger sizes use the recorded figure: the bouncer needs 12+ minutes for 100k. */
  readonly anchorLiveMax: number;
  /** Single-decision round trips measured after the last import of each size. */
  readonly adds: number;
  readonly out: string;
  readonly seed: number;
}

export const DEFAULTS: LoadOptions = {
  sizes: [10_000, 100_000],
  runs: 3,
  largeRuns: 1,
  anchor: 'recorded',
  anchorLiveMax: 10_000,
  adds: 20,
  out: join(ROOT, 'bench', 'results', 'latest.json'),
  seed: 1,
};


export function parseLoadArgs(argv: readonly string[], base: LoadOptions = DEFAULTS): LoadOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: 'string' },
      runs: { type: 'string' },
      'large-runs': { type: 'string' },
      anchor: { type: 'string' },
      'anchor-live-max': { type: 'string' },
      adds: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
    },
    strict: true,
  });
  const anchor = values.anchor ?? base.anchor;
  if (anchor !== 'live' && anchor !== 'recorded') throw new Error(`--anchor: expected live or recorded, got ${JSON.stringify(anchor)}`);
  return {
    sizes: values.sizes ? values.sizes.split(',').map((s) => positiveInt('sizes', s.trim())) : base.sizes,
    runs: values.runs ? positiveInt('runs', values.runs) : base.runs,
    largeRuns: values['large-runs'] ? positiveInt('large-runs', values['large-runs']) : base.largeRuns,
    anchor,
    anchorLiveMax: values['anchor-live-max'] ? positiveInt('anchor-live-max', values['anchor-live-max']) : base.anchorLiveMax,
    adds: values.adds ? positiveInt('adds', values.adds) : base.adds,
    out: values.out ?? base.out,
    seed: values.seed ? positiveInt('seed', values.seed) : base.seed,
  };
}

interface ImportReply {
  added: number;
  updated: number;
  skipped: number;
  ms: number;
}

interface RunFigures {
  readonly run: number;
  /** CLI process wall time: start-up, reading the file, HTTP, store, kernel. */
  readonly importWallMs: number;
  /** The CLI's own figure: request sent → answer after the kernel has everything. */
  readonly importApiMs: number;
  readonly rawNftMs: number;
  readonly added: number;
  readonly memoryAfterImport: Memory;
  readonly verified: { readonly how: string; readonly ok: boolean };
}

interface SizeResult {
  readonly size: number;
  readonly runs: RunFigures[];
  readonly importWallMs: ReturnType<typeof summary>;
  readonly importApiMs: ReturnType<typeof summary>;
  readonly rawNftMs: ReturnType<typeof summary>;
  readonly goalMs: number | undefined;
  readonly anchorMs: number | undefined;
  readonly anchorSource: string;
  readonly peakRssKb: number;
  /** `decisions add` round trips with `size` decisions present; the CLI's start-up is included. */
  readonly addWallMs: ReturnType<typeof summary> | undefined;
  /** The same round trip over the API socket without the CLI: what the daemon itself costs. */
  readonly addApiMs: ReturnType<typeof summary> | undefined;
  /** `status` round trips: the part of addWallMs that is only node starting the CLI. */
  readonly statusWallMs: ReturnType<typeof summary> | undefined;
  readonly verified: boolean;
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

async function importOnce(d: BenchDaemon, file: string): Promise<{ reply: ImportReply; wallMs: number }> {
  const r = await d.cli(['decisions', 'import', file, '--json']);
  if (r.code !== 0) throw new Error(`decisions import failed (${r.code}): ${r.stderr}\n${await d.log()}`);
  return { reply: JSON.parse(r.stdout) as ImportReply, wallMs: r.wallMs };
}

async function verify(ns: BenchNamespace, ips: readonly string[]): Promise<{ how: string; ok: boolean }> {
  if (ips.length <= FULL_COUNT_MAX) {
    const n = await countElements(ns, TABLE, SET);
    return { how: `nft -j list set counted ${formatCount(n)}`, ok: n === ips.length };
  }
  const sample = spreadSample(ips, SAMPLE);
  const present = await holdsAll(ns, TABLE, SET, sample);
  // A get that also "finds" an address never imported would make the sample check meaningless.
  const stray = await holdsAll(ns, TABLE, SET, [absentPublicIPv4(ips)]);
  return { how: `nft get element: ${SAMPLE} sampled ${present ? 'present' : 'MISSING'}, 1 never-imported ${stray ? 'PRESENT' : 'absent'}`, ok: present && !stray };
}

async function cliMedianMs(d: BenchDaemon, args: (i: number) => string[], n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await d.cli(args(i));
    if (r.code !== 0) throw new Error(`gatehouse ${args(i).join(' ')} failed (${r.code}): ${r.stderr}`);
    out.push(r.wallMs);
  }
  return out;
}

async function measureSize(ns: BenchNamespace, work: string, size: number, o: LoadOptions, anchor: RecordedAnchor): Promise<SizeResult> {
  const ips = randomPublicIPv4(size, o.seed);
  const file = join(work, `ips-${size}.txt`);
  await writeFile(file, ips.join('\n') + '\n');
  const runs = size >= 1_000_000 ? o.largeRuns : o.runs;
  const figures: RunFigures[] = [];
  let addWall: number[] | undefined;
  let statusWall: number[] | undefined;
  let addApi: number[] | undefined;
  for (let run = 1; run <= runs; run++) {
    // Each run starts from an empty kernel table and an empty store, like a first import.
    await ns.nft(['delete', 'table', 'inet', TABLE]).catch(() => undefined);
    const d = await BenchDaemon.start(ns, join(work, `daemon-${size}-${run}`));
    try {
      log(`${formatCount(size)} run ${run}/${runs}: importing…`);
      const { reply, wallMs } = await importOnce(d, file);
      const memoryAfterImport = await d.memory();
      if (reply.added !== size) throw new Error(`import added ${reply.added} of ${size} (updated ${reply.updated}, skipped ${reply.skipped})`);
      log(`  import ${secs(wallMs)} (API ${secs(reply.ms)}), RSS ${mib(memoryAfterImport.rssKb)}, peak ${mib(memoryAfterImport.hwmKb)}; verifying…`);
      // A failed check is a result to report, not a reason to lose the figures of a long run.
      const verified = await verify(ns, ips).catch((e: unknown) => ({ how: `check failed: ${e instanceof Error ? e.message : String(e)}`, ok: false }));
      log(`  ${verified.how}`);
      if (run === runs) {
        statusWall = await cliMedianMs(d, () => ['status', '--json'], 5);
        const fresh = randomPublicIPv4(size + 2 * o.adds, o.seed).slice(size);
        addWall = await cliMedianMs(d, (i) => ['decisions', 'add', fresh[i]!, '--json'], o.adds);
        addApi = await d.apiAddMs(fresh.slice(o.adds));
        if (!(await holdsAll(ns, TABLE, SET, fresh))) throw new Error('a decision added with `decisions add` is not in the kernel');
        log(`  decisions add ×${o.adds}: CLI median ${secs(median(addWall))}, API median ${secs(median(addApi))} (CLI start-up alone, status: ${secs(median(statusWall))})`);
      }
      const finalMemory = await d.memory();
      await d.stop();
      log('  raw nft -f of the same addresses…');
      const rawNftMs = await rawNftLoad(ns, ips, join(work, 'raw.nft'));
      log(`  raw nft -f ${secs(rawNftMs)}`);
      figures.push({
        run,
        importWallMs: wallMs,
        importApiMs: reply.ms,
        rawNftMs,
        added: reply.added,
        memoryAfterImport: { rssKb: memoryAfterImport.rssKb, hwmKb: Math.max(memoryAfterImport.hwmKb, finalMemory.hwmKb) },
        verified,
      });
    } finally {
      await d.stop();
      await rm(join(work, `daemon-${size}-${run}`), { recursive: true, force: true });
    }
  }
  await ns.nft(['delete', 'table', 'inet', TABLE]).catch(() => undefined);
  let anchorMs = figureFor(anchor.figures, size);
  let anchorSource = anchorMs === undefined ? 'not measured' : 'recorded';
  if (o.anchor === 'live' && liveUnavailableReason() === undefined) {
    if (size <= o.anchorLiveMax) {
      const live: number[] = [];
      let resolution = 0;
      for (let run = 1; run <= runs; run++) {
        log(`${formatCount(size)} anchor run ${run}/${runs}: real crowdsec-firewall-bouncer…`);
        const r = await runBouncerLive(ns, work, file, size, 30 * 60_000);
        log(`  bouncer ${secs(r.ms)} (±${secs(r.resolutionMs)})`);
        live.push(r.ms);
        resolution = Math.max(resolution, r.resolutionMs);
      }
      anchorMs = median(live);
      anchorSource = `live, ±${secs(resolution)}`;
    } else if (anchorMs !== undefined) {
      anchorSource = `recorded; live only ≤ ${formatCount(o.anchorLiveMax)}`;
    }
  }
  return {
    size,
    runs: figures,
    importWallMs: summary(figures.map((f) => f.importWallMs)),
    importApiMs: summary(figures.map((f) => f.importApiMs)),
    rawNftMs: summary(figures.map((f) => f.rawNftMs)),
    goalMs: IMPORT_GOAL_MS[size],
    anchorMs,
    anchorSource,
    peakRssKb: Math.max(...figures.map((f) => f.memoryAfterImport.hwmKb)),
    addWallMs: addWall ? summary(addWall) : undefined,
    addApiMs: addApi ? summary(addApi) : undefined,
    statusWallMs: statusWall ? summary(statusWall) : undefined,
    verified: figures.every((f) => f.verified.ok),
  };
}

function verdict(ms: number, goal: number | undefined): string {
  if (goal === undefined) return '';
  return ms < goal ? ' ✓' : ' ✗';
}

export function renderReport(results: readonly SizeResult[], anchor: RecordedAnchor, anchorNote: string): string {
  const rows = results.map((r) => {
    const m = r.importWallMs;
    const spread = m.runs > 1 ? ` (${secs(m.min)}–${secs(m.max)})` : '';
    return [
      formatCount(r.size),
      `${secs(m.median)}${spread}${verdict(m.median, r.goalMs)}`,
      secs(r.importApiMs.median),
      r.goalMs === undefined ? '-' : `< ${secs(r.goalMs)}`,
      secs(r.rawNftMs.median),
      r.anchorMs === undefined ? 'not measured' : `${secs(r.anchorMs)} (${r.anchorSource})`,
      `${mib(r.peakRssKb)}${r.size >= 1_000_000 ? (r.peakRssKb < RSS_GOAL_KB ? ' ✓' : ' ✗') : ''}`,
      r.addWallMs ? `${secs(r.addWallMs.median)}${r.size >= 1_000_000 ? verdict(r.addWallMs.median, ADD_GOAL_MS) : ''}` : '-',
      r.addApiMs ? secs(r.addApiMs.median) : '-',
      r.verified ? 'yes' : 'NO',
      String(r.runs.length),
    ];
  });
  const head = ['decisions', 'gatehouse import', 'API part', 'goal', 'raw nft -f', 'anchor (bouncer)', 'daemon peak RSS', 'single add', 'add via API', 'in kernel', 'runs'];
  const notes = [
    'gatehouse import = wall time of `gatehouse decisions import FILE`, median of runs (min–max); it returns once the kernel holds every element.',
    'API part = the CLI\'s own figure (request sent → answer), without node starting the CLI.',
    `raw nft -f = one \`nft -f\` of the same addresses into an empty hash set, in this run (${anchor.raw_nft.figures.map((f) => `recorded ${formatCount(f.size)}: ${secs(f.ms)}`).join(', ')}).`,
    `anchor = ${anchor.anchor} ${anchor.version}; ${anchorNote}; source: ${anchor.source}.`,
    `daemon peak RSS = VmHWM of the daemon process; goal with 1M: < ${mib(RSS_GOAL_KB)}.`,
    `single add = median wall time of \`gatehouse decisions add IP\` with the imported decisions present (returns after the kernel has it); goal with 1M: < ${secs(ADD_GOAL_MS)}.`,
    'add via API = the same request sent straight to the daemon\'s socket (no CLI process), median.',
  ];
  const status = results.find((r) => r.statusWallMs)?.statusWallMs;
  if (status) notes.push(`CLI start-up floor (\`gatehouse status\` round trip): ${secs(status.median)}.`);
  return `${textTable(head, rows)}\n\n${notes.map((n) => `  ${n}`).join('\n')}`;
}

async function machine(): Promise<Record<string, string | number>> {
  const nft = await run('nft', ['--version']).then((r) => r.stdout.trim(), () => 'unknown');
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memTotal: (await readFile('/proc/meminfo', 'utf8')).split('\n')[0] ?? '', kernel: release(), node: process.version, nft };
}

export async function runDecisionsLoad(o: LoadOptions): Promise<SizeResult[]> {
  if (process.getuid?.() !== 0) throw new Error('needs root: the benchmark creates a network namespace and loads nftables sets in it');
  if (!existsSync(CLI)) throw new Error(`no build at ${CLI}: run npx tsc -p tsconfig.json first`);
  const anchor = await loadRecordedAnchor();
  let anchorNote = 'recorded figures';
  if (o.anchor === 'live') {
    const why = liveUnavailableReason();
    anchorNote = why
      ? `live anchor not available (${why}), using recorded figures`
      : `run live for sizes ≤ ${formatCount(o.anchorLiveMax)} (bouncer exec → all N in its nft set, decisions from a stub LAPI stream), recorded above that`;
    log(anchorNote);
  }
  const work = await mkdtemp(join(tmpdir(), 'ghbench-'));
  const ns = await BenchNamespace.create();
  const cleanup = async (): Promise<void> => {
    await ns.remove().catch((e: unknown) => log(`could not remove namespace ${ns.name}: ${String(e)}`));
    await rm(work, { recursive: true, force: true });
  };
  // A Ctrl-C must not leave a namespace with a daemon in it behind.
  const stopWatching = cleanUpOnInterrupt(cleanup, log);
  const results: SizeResult[] = [];
  try {
    log(`namespace ${ns.name}, work dir ${work}`);
    for (const size of o.sizes) results.push(await measureSize(ns, work, size, o, anchor));
  } finally {
    stopWatching();
    await cleanup();
  }
  const report = renderReport(results, anchor, anchorNote);
  console.log(report);
  await mkdir(join(o.out, '..'), { recursive: true });
  await writeFile(
    o.out,
    JSON.stringify(
      { benchmark: 'decisions-load', finishedAt: new Date().toISOString(), options: o, machine: await machine(), anchor: { ...anchor, mode: o.anchor, note: anchorNote }, results },
      null,
      2,
    ) + '\n',
  );
  log(`results written to ${o.out}`);
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runDecisionsLoad(parseLoadArgs(process.argv.slice(2))).catch((e: unknown) => {
    console.error(`decisions-load: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
