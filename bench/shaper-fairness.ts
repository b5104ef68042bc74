/**
 * Fairness and latency of the fair-share shaper (issue #12), side by side in one run, on the lab's
 * 50/10 Mbit/s "ISP link" (an HTB-limited modem with a 200 ms buffer in the inet namespace):
 *
 *   - no shaper:            Gatehouse runs without a `shaper:` section (the modem's FIFO decides)
 *   - Gatehouse shaper:     `shaper: { download: 47mbit, upload: 9mbit }` (per-resident HTB classes)
 *   - rate limit only:      one HTB class at 47mbit with a FIFO on the gateway's LAN side (no per-resident classes)
 *   - per-flow queueing:    the same HTB class with an fq_codel (else sfq) leaf — plain per-flow fairness,
 *                           what most routers do. Missing on this kernel: detected and reported, never faked.
 *
 * Fairness: 4 residents download at once (iperf3), c1 with 16 parallel streams: Jain's index. Latency: c1
 * saturates with 2 streams while (from 6 s in) c2 sends ping-sized UDP echoes and small TCP requests, and c1 itself connects
 * to an SSH port (its own interactive traffic beside its download): p50/p99.
 *
 *   node --import tsx bench/shaper-fairness.ts [--seconds 10] [--out bench/results/shaper-fairness-latest.md]
 *
 * Needs root, a build (`npx tsc -p tsconfig.json`) and iperf3. Uses lab prefix `sl` (removed afterwards).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { labUp, labDown } from '../src/lab/lab.js';
import { CLI_PATH, LabGateway, labGatewayConfig } from '../src/lab/gateway-runner.js';
import { closeProbes } from '../src/lab/probe.js';
import { nsExec, CommandError } from '../src/lab/ns.js';
import { fairnessRun, latencyRun, type FairnessResult, type LatencyResult } from '../src/lab/scenarios.js';
import { mbit } from '../src/lab/fairness.js';
import type { LabTopology } from '../src/lab/topology.js';
import type { ShaperStatus } from '../src/shaper/types.js';

const PREFIX = 'sl';
const LINK = { down: '50mbit', up: '10mbit' } as const;
const SHAPED_DOWN = 47e6;
const SHAPER = { shaper: { download: '47mbit', upload: '9mbit' } };

interface Args { seconds: number; out: string }

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seconds: 10, out: 'bench/results/shaper-fairness-latest.md' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--seconds' && v !== undefined) { args.seconds = Number(v); i++; }
    else if (a === '--out' && v !== undefined) { args.out = v; i++; }
    else throw new Error(`unknown argument ${a} (use --seconds N, --out FILE)`);
  }
  if (!Number.isInteger(args.seconds) || args.seconds < 3 || args.seconds > 120) throw new Error('--seconds: 3..120');
  return args;
}

type Row =
  | { readonly name: string; readonly available: true; readonly fairness: FairnessResult; readonly latency: LatencyResult; readonly note?: string }
  | { readonly name: string; readonly available: false; readonly why: string };

const tcGw = (topo: LabTopology, args: readonly string[]) => nsExec(topo.namespaces.gw, 'tc', args);

/**
 * A plain shaper on the gateway's LAN side: one HTB class at the shaped rate with `leaf` under it. Returns
 * why not when the kernel lacks the leaf ("Specified qdisc kind is unknown").
 */
async function plainShaper(topo: LabTopology, leaf: readonly string[]): Promise<string | undefined> {
  const dev = topo.gateway.lanBridge;
  // A fresh root: HTB cannot `replace` itself in place (the previous anchor left one).
  await tcGw(topo, ['qdisc', 'del', 'dev', dev, 'root']).catch(() => undefined);
  await tcGw(topo, ['qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '1']);
  await tcGw(topo, ['class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', `${SHAPED_DOWN}bit`, 'ceil', `${SHAPED_DOWN}bit`, 'quantum', '60000']);
  try {
    await tcGw(topo, ['qdisc', 'add', 'dev', dev, 'parent', '1:1', 'handle', '10:', ...leaf]);
    return undefined;
  } catch (err) {
    await tcGw(topo, ['qdisc', 'del', 'dev', dev, 'root']).catch(() => undefined);
    if (err instanceof CommandError) return err.stderr.trim().split('\n')[0] ?? err.message;
    throw err;
  }
}

async function measure(topo: LabTopology, seconds: number, whenKnown?: () => Promise<void>): Promise<{ fairness: FairnessResult; latency: LatencyResult }> {
  const fairness = await fairnessRun(topo, { heavyStreams: 16, seconds });
  const latency = await latencyRun(topo, whenKnown ? { whenKnown } : {});
  return { fairness, latency };
}

async function waitForShares(g: LabGateway, ips: readonly string[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = await g.cli(['shaper', 'status', '--json']);
    if (r.code === 0) {
      const s = JSON.parse(r.stdout) as ShaperStatus;
      const known = new Set(s.clients.flatMap((c) => c.ips));
      if (ips.every((ip) => known.has(ip))) return;
    }
    if (Date.now() > deadline) throw new Error(`shaper status lists no share for ${ips.join(', ')}: ${r.stdout || r.stderr}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

const ms = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(1));

export function report(rows: readonly Row[], meta: { commit: string; load: string; seconds: number; date: string }): string {
  const lines: string[] = [];
  lines.push('# Shaper fairness and latency (issue #12)', '');
  lines.push(`Run ${meta.date}, commit ${meta.commit}, load average before the run ${meta.load}; \`node --import tsx bench/shaper-fairness.ts --seconds ${meta.seconds}\`.`);
  lines.push('Lab: 4 residents behind the Gatehouse gateway, ISP link 50 Mbit/s down / 10 Mbit/s up (HTB "modem", 200 ms buffer), iperf3 3.12.');
  lines.push(`Fairness: all 4 download for ${meta.seconds} s (3 s left out at the start), c1 with 16 parallel streams, c2–c4 with one. Latency: c1 downloads with 2 streams; from 6 s into the download (a long download's steady state), c2 measures 30 ping-sized UDP echoes and 30 small TCP requests (connect + GET + answer), and c1 itself 30 TCP connects to an SSH port (one round trip: a keystroke's echo).`, '');
  lines.push('| setup | c1 ×16 | c2 | c3 | c4 | total Mbit/s | Jain | c2 UDP echo p50 / p99 ms | c2 TCP request p50 / p99 ms | c1 own SSH connect p50 / p99 ms | c1 while probed |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    if (!r.available) {
      lines.push(`| ${r.name} | not available on this kernel (${r.why}) | | | | | | | | | |`);
      continue;
    }
    const c = r.fairness.clients.map((x) => mbit(x.bps));
    lines.push(`| ${r.name} | ${c.join(' | ')} | ${mbit(r.fairness.totalBps)} | ${r.fairness.jain.toFixed(3)} | ${ms(r.latency.udp.p50)} / ${ms(r.latency.udp.p99)} | ${ms(r.latency.tcp.p50)} / ${ms(r.latency.tcp.p99)} | ${ms(r.latency.own.p50)} / ${ms(r.latency.own.p99)} | ${mbit(r.latency.saturatorBps)} |`);
  }
  lines.push('', 'Goal (issue #12): Jain ≥ 0.95 with the shaper. p99 of 30 samples is the slowest sample. Lost samples: ' +
    rows.filter((r): r is Extract<Row, { available: true }> => r.available).map((r) => `${r.name} ${r.latency.udp.lost + r.latency.tcp.lost + r.latency.own.lost}`).join(', ') + '.');
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces, tc, nftables)');
  if (!existsSync(CLI_PATH)) throw new Error('needs a build: npx tsc -p tsconfig.json');
  const load = execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');
  const commit = (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return '?'; } })();
  const lab = await labUp({ prefix: PREFIX, clients: 4, bottleneck: LINK, iperf: 4 });
  const topo = lab.topology;
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-shaper-'));
  const g = new LabGateway(topo, dir, labGatewayConfig(topo, dir));
  const rows: Row[] = [];
  const say = (s: string) => process.stderr.write(`${s}\n`);
  try {
    say('no shaper …');
    await g.startDaemon();
    rows.push({ name: 'no shaper', available: true, ...(await measure(topo, args.seconds)) });
    await g.stopDaemon();

    say('Gatehouse shaper …');
    await g.writeConfig(SHAPER);
    await g.startDaemon();
    rows.push({ name: 'Gatehouse shaper (per-resident HTB)', available: true, ...(await measure(topo, args.seconds, () => waitForShares(g, topo.clients.map((c) => c.ipv4)))) });
    await g.stopDaemon();

    // The anchors run on the bare lab gateway (no daemon: its shaper removed its qdiscs on stop).
    say('rate limit only …');
    const fifo = await plainShaper(topo, ['pfifo', 'limit', '100']);
    if (fifo) rows.push({ name: 'rate limit only (one HTB class, FIFO)', available: false, why: fifo });
    else rows.push({ name: 'rate limit only (one HTB class, FIFO)', available: true, ...(await measure(topo, args.seconds)) });

    say('per-flow queueing …');
    let why = '';
    let done = false;
    for (const leaf of [['fq_codel'], ['sfq', 'perturb', '10']] as const) {
      const missing = await plainShaper(topo, leaf);
      if (missing) { why += `${why ? '; ' : ''}${leaf[0]}: ${missing}`; continue; }
      rows.push({ name: `per-flow queueing (HTB + ${leaf[0]})`, available: true, ...(await measure(topo, args.seconds)) });
      done = true;
      break;
    }
    if (!done) rows.push({ name: 'per-flow queueing (fq_codel / sfq)', available: false, why });
  } finally {
    await g.stopDaemon('SIGKILL').catch(() => undefined);
    await closeProbes().catch(() => undefined);
    await labDown(PREFIX).catch((e: unknown) => say(`lab down: ${String(e)}`));
    await rm(dir, { recursive: true, force: true });
  }
  const md = report(rows, { commit, load, seconds: args.seconds, date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC' });
  process.stdout.write(md);
  await mkdir(dirname(args.out), { recursive: true });
  await writeFile(args.out, md);
  say(`written to ${args.out}`);
}

main().catch((e: unknown) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
