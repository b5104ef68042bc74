/*
 * The shaper's control plane and per-packet cost, with the real daemon in a lab (prefix sk2; needs root and a
 * build: npx tsc -p tsconfig.json).
 *
 *   node --import tsx bench/shaper-control.ts [--clients 500] [--runs 3] [--seconds 5]
 *
 * 1. Classes for N clients: N addresses become active at once (elements put into the shaper's counter set,
 *    as the forward path would), timed until `/v1/shaper/status` lists all N and tc holds their classes on
 *    both devices; plus the daemon's own reconcile time for that tick (loop.lastTickMs). Goal < 2 s.
 * 2. Status with N clients: GET /v1/shaper/status on the API socket, median of 20 (and the CLI's wall time,
 *    which adds Node's start). Goal < 200 ms.
 * 3. Forwarding throughput through the gateway with the shaper on (HTB at 10 Gbit/s, i.e. not limiting,
 *    classified by the nft maps) versus off (the same daemon config without `shaper:`), iperf3 download from
 *    the lab internet, alternating on/off per run; the ratio of medians.
 *
 * Results: bench/results/shaper-control-latest.md.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiClient } from '../src/cli/api-client.js';
import { labDown, labUp } from '../src/lab/lab.js';
import { nsExec, spawnInNs } from '../src/lab/ns.js';
import { LabGateway, deepMerge, labGatewayConfig } from '../src/lab/gateway-runner.js';
import type { ShaperStatusReport } from '../src/shaper/index.js';
import { parseClassStats } from '../src/shaper/tc.js';
import { median } from './lib/stats.js';

const PREFIX = 'sk2';
const PORT = 5201;
const { values: args } = parseArgs({ options: { clients: { type: 'string', default: '500' }, runs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '5' } } });
const N = Number(args.clients);
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`${s}\n`);

function cliWall(configFile: string, argv: readonly string[]): Promise<number> {
  const cli = resolve(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
  const t0 = performance.now();
  return new Promise((done, fail) => execFile(process.execPath, [cli, ...argv, '--config', configFile], (err) => (err ? fail(err) : done(performance.now() - t0))));
}

/** N addresses in 10.78.0.0/16: not on the lab LAN, only in the shaper's counter set (as if forwarded). */
function addresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.78.${Math.floor(i / 250)}.${(i % 250) + 1}`);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces, nftables, tc)');
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-sk2-'));
  let iperf: ChildProcess | undefined;
  const cleanup = async () => {
    iperf?.kill('SIGKILL');
    await g?.stopDaemon('SIGKILL').catch(() => undefined);
    await labDown(PREFIX).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  let g: LabGateway | undefined;
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const lab = await labUp({ prefix: PREFIX });
    const topo = lab.topology;
    const gw = topo.namespaces.gw;
    const base = labGatewayConfig(topo, dir);
    const shaped = { shaper: { download: '10gbit', upload: '10gbit', idle: '2m' } };
    g = new LabGateway(topo, dir, deepMerge(base, shaped));
    await g.startDaemon();
    const api = new ApiClient({ socket: join(dir, 'data', 'api.sock') });
    const status = () => api.send('GET /v1/shaper/status') as Promise<ShaperStatusReport>;
    while ((await status()).loop.ticks < 1) await sleep(100);

    // 1. N clients appear at once.
    const addrs = addresses(N);
    const script = `add element inet gatehouse shaper_rx4 { ${addrs.join(', ')} }\n`;
    await nsExec(gw, 'nft', ['-f', '-'], { input: script });
    const t0 = performance.now();
    let s: ShaperStatusReport;
    for (;;) {
      s = await status();
      if (s.clients.length >= N) break;
      if (performance.now() - t0 > 60_000) throw new Error(`only ${s.clients.length} of ${N} clients after 60 s`);
      await sleep(20);
    }
    const visibleMs = performance.now() - t0;
    const reconcileMs = s.loop.lastTickMs;
    const classCount = async (dev: string) => parseClassStats((await nsExec(gw, 'tc', ['-s', 'class', 'show', 'dev', dev])).stdout).length;
    const lanClasses = await classCount(topo.gateway.lanBridge);
    const wanClasses = await classCount(topo.gateway.wanInterface);
    for (const l of (await g.log()).split('\n')) if (l.includes('classes changed') || l.includes('tick failed')) log(l);
    log(`classes: ${N} clients visible after ${visibleMs.toFixed(0)} ms (reconcile tick ${reconcileMs} ms); tc classes lan ${lanClasses}, wan ${wanClasses}`);

    if (process.env.SHAPER_BENCH_ONLY_CLASSES) return;
    // 2. Status with N clients.
    const apiMs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const a = performance.now();
      const r = await status();
      apiMs.push(performance.now() - a);
      if (r.clients.length < N) throw new Error('clients vanished during the status runs');
    }
    const cliMs: number[] = [];
    for (let i = 0; i < 5; i++) cliMs.push(await cliWall(g.configFile, ['shaper', 'status', '--json']));
    log(`status: API median ${median(apiMs).toFixed(1)} ms, CLI median ${median(cliMs).toFixed(0)} ms`);

    // Remove the synthetic clients before measuring throughput (they would only cost a tick's work).
    await nsExec(gw, 'nft', ['flush', 'set', 'inet', 'gatehouse', 'shaper_rx4']);

    // 3. Throughput on vs off.
    iperf = spawnInNs(topo.namespaces.inet, 'iperf3', ['-s', '-p', String(PORT)], { stdio: 'ignore' });
    await sleep(500);
    const c1 = topo.clients[0];
    const download = async (): Promise<number> => {
      const r = await nsExec(c1.ns, 'iperf3', ['-c', topo.sites.legit.ipv4, '-p', String(PORT), '-R', '-t', String(SECONDS), '-J'], { timeoutMs: (SECONDS + 20) * 1000 });
      return (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
    };
    const on: number[] = [];
    const off: number[] = [];
    let classified = 0;
    for (let run = 0; run < RUNS; run++) {
      // on: the shaper runs; warm up so the client has its class before the measured download.
      await g.stopDaemon('SIGTERM');
      await g.writeConfig(shaped);
      await g.startDaemon();
      await nsExec(c1.ns, 'iperf3', ['-c', topo.sites.legit.ipv4, '-p', String(PORT), '-R', '-t', '1'], { timeoutMs: 20_000 });
      while (!(await status()).clients.some((c) => c.ips.includes(c1.ipv4))) await sleep(200);
      const before = parseClassStats((await nsExec(gw, 'tc', ['-s', 'class', 'show', 'dev', topo.gateway.lanBridge])).stdout);
      on.push(await download());
      const after = parseClassStats((await nsExec(gw, 'tc', ['-s', 'class', 'show', 'dev', topo.gateway.lanBridge])).stdout);
      const id = (await status()).clients.find((c) => c.ips.includes(c1.ipv4))!.classId;
      classified = (after.find((c) => c.minor === id)?.bytes ?? 0) - (before.find((c) => c.minor === id)?.bytes ?? 0);
      // off: the same daemon without the shaper section (the firewall removes the shaper's table objects).
      await g.stopDaemon('SIGTERM');
      const cfg = deepMerge(base, {});
      g = new LabGateway(topo, dir, cfg);
      await g.startDaemon();
      off.push(await download());
      log(`run ${run + 1}: on ${(on.at(-1)! / 1e9).toFixed(2)} Gbit/s, off ${(off.at(-1)! / 1e9).toFixed(2)} Gbit/s (client class carried ${(classified / 1e6).toFixed(0)} MB)`);
    }
    // Paired per run (on and off back to back): the load from other sessions changes between runs more than
    // within one pair.
    const ratios = on.map((x, i) => x / off[i]!);
    const ratio = median(ratios);

    const load = (await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ');
    const md = [
      '# shaper control plane and forwarding cost',
      '',
      `Run: ${new Date().toISOString()}, lab prefix ${PREFIX}, ${N} clients, ${RUNS} throughput runs of ${SECONDS} s, load average ${load} (2 vCPUs shared with other sessions).`,
      `Command: \`node --import tsx bench/shaper-control.ts --clients ${N} --runs ${RUNS} --seconds ${SECONDS}\``,
      '',
      '| Figure | Result | Goal |',
      '|---|---|---|',
      `| ${N} clients' classes created: the daemon's control tick that created them (plan, tc -batch on both devices in parallel, one nft transaction) | ${reconcileMs} ms | < 2000 ms |`,
      `| … end to end, from the addresses becoming active to status listing all ${N} (includes waiting up to 2 s for the next tick) | ${visibleMs.toFixed(0)} ms | |`,
      `| tc classes after: LAN / WAN device | ${lanClasses} / ${wanClasses} (expected ${N * 4 + 3} each: 4 per client + 3) | |`,
      `| status with ${N} clients, API socket, median of 20 | ${median(apiMs).toFixed(1)} ms | < 200 ms |`,
      `| status with ${N} clients, CLI wall (incl. Node start), median of 5 | ${median(cliMs).toFixed(0)} ms | |`,
      `| forwarding throughput, shaper on (HTB 10 Gbit/s, classified), median | ${(median(on) / 1e9).toFixed(2)} Gbit/s | |`,
      `| forwarding throughput, shaper off, median | ${(median(off) / 1e9).toFixed(2)} Gbit/s | |`,
      `| ratio on / off, median of the per-run ratios | ${ratio.toFixed(2)} (runs: ${ratios.map((r) => r.toFixed(2)).join(', ')}) | |`,
      '',
      `Per run (Gbit/s): on ${on.map((x) => (x / 1e9).toFixed(2)).join(', ')}; off ${off.map((x) => (x / 1e9).toFixed(2)).join(', ')}.`,
      `The last "on" run's download went through the client's own class: ${(classified / 1e6).toFixed(0)} MB counted there.`,
      '',
    ].join('\n');
    await mkdir(resolve(import.meta.dirname, 'results'), { recursive: true });
    const out = resolve(import.meta.dirname, 'results', 'shaper-control-latest.md');
    await writeFile(out, md);
    process.stdout.write(md);
    log(`written: ${out}`);
  } finally {
    await cleanup();
  }
}

await main();
