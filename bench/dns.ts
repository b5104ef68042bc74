/**
 * DNS filter speed and memory (issue #10): Gatehouse next to dnsdist, unbound and dnsmasq in one run, with NSD
 * as the upstream, everything inside a private network namespace with its own loopback. Needs root.
 *
 *   node --import tsx bench/dns.ts                 # 1M list, 5 s runs, 3 repeats, 1M decisions (10–15 min)
 *   node --import tsx bench/dns.ts --quick         # 100k list, 1 run of 2 s (smoke)
 *   npm run bench -- --dns [flags]
 *
 * The method is ../shared/research/dns-anchors.md's (its harness is not part of the project); see bench/README.md.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { queryLogPath } from '../src/dns/querylog/schema.js';
import { netnsExists, netnsPath, pidsInNetns, run } from '../src/lab/ns.js';
import { ipCheck } from './lib/dns-ipcheck.js';
import { apiLatency, latencyRun, maxRun, warm, type MeasureOpts } from './lib/dns-measure.js';
import { parseDnsArgs, USAGE, type DnsBenchOptions } from './lib/dns-options.js';
import { blockedNames, hotNames, NameOffset, sample, writeLists, writeQueryFile } from './lib/dns-names.js';
import { loadavg, treeMemory } from './lib/dns-proc.js';
import { waitBlocked } from './lib/dns-probe.js';
import { expectedRcode, renderReport, wrongAnswers, type EnvInfo, type ServerResult } from './lib/dns-report.js';
import { blockCheckOf, DUT_PORT, HOST, Proc, ROOT, startNsd, startServer, UP_PORT, type ServerSpec } from './lib/dns-servers.js';

const log = (line: string): void => console.error(`[dns-bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

// --------------------------------------------------------------------------------------------- outside

/**
 * Creates the namespace, runs this file again inside it (so servers, dnsperf, probes and the benchmark share
 * one private loopback) and removes it afterwards, also on failure or Ctrl-C. Resolves with the report file.
 */
export async function runDnsBench(argv: readonly string[]): Promise<number> {
  const o = parseDnsArgs(argv);
  if (process.getuid?.() !== 0) throw new Error('the DNS benchmark needs root (it creates a network namespace)');
  for (const tool of ['dnsperf', 'nsd', ...new Set(o.servers.filter((s) => s.kind !== 'gatehouse').map((s) => s.kind.replace('-hosts', '')))]) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is not installed (apt-get install dnsperf nsd dnsdist unbound dnsmasq)`);
    }
  }
  if (netnsExists(o.netns)) throw new Error(`network namespace ${o.netns} already exists (another run? remove it with ip netns del ${o.netns})`);
  await run('ip', ['netns', 'add', o.netns]);
  let child: ReturnType<typeof spawn> | undefined;
  const cleanup = async (): Promise<void> => {
    if (child && child.exitCode === null) child.kill('SIGTERM');
    // Anything still in the namespace was started by this run (the namespace is ours alone).
    for (const pid of await pidsInNetns(o.netns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (netnsExists(o.netns)) await run('ip', ['netns', 'del', o.netns]).catch(() => {});
  };
  const onSignal = (): void => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await run('ip', ['-n', o.netns, 'link', 'set', 'lo', 'up']);
    child = spawn('nsenter', [`--net=${netnsPath(o.netns)}`, process.execPath, '--import', 'tsx', join(ROOT, 'bench', 'dns.ts'), ...argv, '--inside'], { stdio: 'inherit', cwd: ROOT });
    const code = await new Promise<number>((r) => child!.once('exit', (c, sig) => r(c ?? (sig ? 1 : 0))));
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

// ---------------------------------------------------------------------------------------------- inside

function version(cmd: string, args: string[], re: RegExp): string {
  // Some print their version on stderr, some exit non-zero after printing it.
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return re.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? '?';
}

function environment(o: DnsBenchOptions, load: number[]): EnvInfo {
  const v = [
    `dnsperf ${version('dnsperf', ['-h'], /Version (\S+)/)}`,
    `nsd ${version('nsd', ['-v'], /NSD version (\S+)/)}`,
    `dnsdist ${version('dnsdist', ['--version'], /dnsdist (\S+)/)}`,
    `unbound ${version('unbound', ['-V'], /Version (\S+)/)}`,
    `dnsmasq ${version('dnsmasq', ['--version'], /Dnsmasq version (\S+)/)}`,
    `node ${process.version}`,
  ].join(', ');
  let commit = '?';
  try {
    commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    if (execFileSync('git', ['-C', ROOT, 'status', '--porcelain', 'src', 'bench'], { encoding: 'utf8' }).trim()) commit += ' (+ uncommitted changes in src/ or bench/)';
  } catch {
    // not a checkout
  }
  return {
    when: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: `${execFileSync('uname', ['-srm'], { encoding: 'utf8' }).trim()}; ${cpus().length} vCPU; ${Math.round(totalmem() / 2 ** 20)} MiB`,
    versions: v,
    commit,
    options: `list ${o.size.toLocaleString('en-US')} names; servers ${o.servers.map((s) => s.name).join(',')}; classes ${o.classes.join(',')}; DUR ${o.dur} s; REPEAT ${o.repeat}; RATE ${o.rate} for ${o.latDur} s; HOT ${o.hot}; dnsperf -c ${o.clients} -q ${o.outstanding}; answer-IP check ${o.decisions ? `${o.decisions} decisions / ${o.ranges} ranges` : 'off'}${o.workers ? `; dns.workers ${o.workers}` : ''}${o.fromSource ? '; Gatehouse from src/ (tsx)' : ''}`,
    loadStart: load,
  };
}

async function waitQuiet(seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until && (await loadavg())[0] >= 0.5) await new Promise((r) => setTimeout(r, 5000));
}

async function measureServer(s: ServerSpec, o: DnsBenchOptions, lists: Awaited<ReturnType<typeof writeLists>>, m: MeasureOpts, probeName: string, withIpCheck: boolean): Promise<ServerResult> {
  const r: ServerResult = { name: s.name, gatehouse: s.kind === 'gatehouse', max: {}, latency: {} };
  let proc: Proc | undefined;
  let dataDir: string | undefined;
  try {
    log(`${s.name}: starting`);
    const started = await startServer(s, lists, o.work, { workers: o.workers, fromSource: o.fromSource, cpuProfDir: o.cpuProfDir });
    proc = started.proc;
    dataDir = started.dataDir;
    const p = proc;
    r.startupMs = await waitBlocked({ host: HOST, port: DUT_PORT, name: probeName, blocked: blockCheckOf(s), t0: p.t0, everyMs: 50, timeoutMs: o.startupTimeoutMs, alive: () => p.alive() })
      .catch(async (e: unknown) => { throw new Error(`${e instanceof Error ? e.message : String(e)}\n${(await p.log()).slice(-3000)}`); });
    await new Promise((res) => setTimeout(res, 1000));
    r.idle = await treeMemory(p.pid);
    log(`${s.name}: up in ${(r.startupMs / 1000).toFixed(2)} s, RSS ${(r.idle.rssKb / 1024).toFixed(1)} MB`);
    await warm(p.pid, m, s.kind === 'gatehouse' ? 3 : 1);
    for (const c of o.classes) {
      const runs = [];
      for (let i = 0; i < o.repeat; i++) {
        if (c === 'cached' || c === 'mix') await warm(p.pid, m, 1);
        const run = await maxRun(p.pid, c, m);
        runs.push(run);
        log(`${s.name} ${c} #${i + 1}: ${Math.round(run.qps)} qps, ${run.cpuUsPerQuery.toFixed(1)} µs CPU/q${run.lost ? `, lost ${run.lost}` : ''}`);
      }
      r.max[c] = runs;
      const want = expectedRcode(c, s.kind === 'dnsmasq-hosts', false);
      const wrong = wrongAnswers(runs, want);
      if (wrong > 0) log(`${s.name} ${c}: ${wrong} answers were not ${want}`);
    }
    for (const c of ['blocked', 'cached'] as const) {
      r.latency[c] = await latencyRun(p.pid, c, m);
      log(`${s.name} ${c} at ${o.rate} qps: p50 ${r.latency[c].p50.toFixed(3)} ms, p99 ${r.latency[c].p99.toFixed(3)} ms`);
    }
    if (s.kind === 'gatehouse' && started.apiSocket) {
      r.api = await apiLatency(p.pid, started.apiSocket, m, o.apiSamples);
      if (withIpCheck) r.ipcheck = await ipCheck(r.name, p.pid, log, started.apiSocket, o, m, m.mixShares.hot[0]!);
    }
    r.end = await treeMemory(p.pid);
    if (!p.alive()) throw new Error(`exited during the run:\n${(await p.log()).slice(-3000)}`);
  } catch (e) {
    r.error = e instanceof Error ? e.message : String(e);
    log(`${s.name}: ${r.error}`);
  } finally {
    await proc?.stop();
  }
  if (dataDir && !r.error) r.queryLogRows = queryLogRows(dataDir);
  return r;
}

/** Rows the query log holds after the server stopped (its workers drain their buffers on the way out). */
function queryLogRows(dataDir: string): number {
  const file = queryLogPath(dataDir);
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM queries').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

export async function runInside(o: DnsBenchOptions): Promise<string> {
  const started = performance.now();
  await mkdir(o.work, { recursive: true });
  if (o.quietWait > 0) await waitQuiet(o.quietWait);
  const env = environment(o, await loadavg());
  log(`generating ${o.size} names and the list files in ${o.work}`);
  const names = blockedNames(o.size);
  const lists = await writeLists(o.work, names);
  const files = { blocked: join(o.work, 'q-blocked.txt'), cached: join(o.work, 'q-cached.txt') };
  await writeQueryFile(files.blocked, sample(names, Math.min(200_000, o.size)));
  const hot = hotNames(o.hot);
  await writeQueryFile(files.cached, hot);
  const m: MeasureOpts = {
    dur: o.dur, latDur: o.latDur, rate: o.rate, clients: o.clients, outstanding: o.outstanding, ceiling: o.ceiling, work: o.work, files,
    mixShares: { blocked: sample(names, 10_000, 9), hot }, offset: await NameOffset.open(o.work),
  };
  const nsd = await startNsd(o.work);
  const results: ServerResult[] = [];
  try {
    await waitBlocked({ host: HOST, port: UP_PORT, name: 'probe.bench', blocked: (x) => x.rcode === 0 && x.answers > 0, t0: performance.now(), everyMs: 100, timeoutMs: 10_000, alive: () => nsd.alive() })
      .catch(async (e: unknown) => { throw new Error(`NSD did not come up: ${e instanceof Error ? e.message : String(e)}\n${await nsd.log()}`); });
    let ipCheckDone = false;
    for (const s of o.servers) {
      const withIpCheck = s.kind === 'gatehouse' && !ipCheckDone && o.decisions > 0;
      if (withIpCheck) ipCheckDone = true;
      results.push(await measureServer(s, o, lists, m, names[Math.floor(names.length / 2)]!, withIpCheck));
    }
  } finally {
    await nsd.stop();
  }
  env.loadEnd = await loadavg();
  env.elapsedS = Math.round((performance.now() - started) / 1000);
  const md = renderReport(env, results, o.classes);
  const file = o.out ?? join(ROOT, 'bench', 'results', `dns-${env.when.replace(/[-:]/g, '')}.md`);
  await mkdir(resolve(file, '..'), { recursive: true });
  await writeFile(file, md);
  await writeFile(file.replace(/\.md$/, '') + '.json', JSON.stringify({ env, options: { ...o, servers: o.servers.map((s) => s.name) }, results }, null, 1));
  console.log(md);
  log(`written to ${file}`);
  await rm(join(o.work, 'q-uncached.txt'), { force: true });
  return file;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    process.exit(0);
  }
  const main = argv.includes('--inside') ? runInside(parseDnsArgs(argv)).then(() => 0) : runDnsBench(argv);
  main.then((code) => process.exit(code), (e: unknown) => {
    console.error(`dns bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
