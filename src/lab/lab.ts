import { openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile, rename, readdir } from 'node:fs/promises';
import { buildPlan } from './plan.js';
import { labTopology, DEFAULT_PREFIX, type LabTopology, type LabShapeOptions } from './topology.js';
import { labServers, type LabServer, type ServerSpec } from './server-spec.js';
import { nodeScriptLaunch, type NodeLaunch } from './launch.js';
import { ipIn, isAlive, killPids, listNetns, netnsExists, pidsInNetns, processArgv, run, spawnInNs } from './ns.js';
import { isLabIperf, startIperfServers } from './iperf-servers.js';
import { DNS_SERVER_NAME, isLabNsd, removeClientResolvConf, startLabDns, writeClientResolvConf } from './lab-dns.js';

export interface LabUpOptions {
  /** Default `gh`. Tests use their own prefix so several labs can coexist. */
  readonly prefix?: string;
  /** PID/ready/log files. Default `/run/gatehouse-lab/<prefix>`. */
  readonly stateDir?: string;
  /** Served by the legit site under /feeds/. Default `<stateDir>/feeds` (created). */
  readonly feedsDir?: string;
  /** Script for the servers; default: the sibling of this module (see launch.ts). */
  readonly serversScript?: string;
  /** Default true. false = namespaces, addresses, routes and NAT only. */
  readonly startServers?: boolean;
  /**
   * Default true (with startServers): NSD serves the lab zone in the inet namespace (see zone.ts), and the
   * clients' resolv.conf for `ip netns exec` names the gateway.
   */
  readonly dns?: boolean;
  /** How long to wait for each server to bind. Default 20 s (tsx start-up on a loaded 2-vCPU box). */
  readonly readyTimeoutMs?: number;
  /** Clients c1..cN (default 2). */
  readonly clients?: number;
  /** An HTB-limited "ISP link" in the inet namespace, e.g. `{ down: '50mbit', up: '10mbit' }` (see bottleneck.ts). */
  readonly bottleneck?: LabShapeOptions['bottleneck'];
  /** iperf3 servers in the inet namespace on ports topology.iperf.basePort.. (with startServers); default 0. */
  readonly iperf?: number;
}

export interface LabServerProcess {
  readonly name: string;
  readonly ns: string;
  readonly pid: number;
  /** JSON lines: one per HTTP request / banner connection / UDP datagram. */
  readonly logFile: string;
  readonly readyFile: string;
}

export interface Lab {
  readonly topology: LabTopology;
  readonly stateDir: string;
  readonly feedsDir: string;
  readonly servers: readonly LabServerProcess[];
}

interface LabState {
  readonly prefix: string;
  readonly feedsDir: string;
  /** How the lab was built, so down/status find clients beyond c2 and the bottleneck. */
  readonly shape?: LabShapeOptions;
  servers: LabServerProcess[];
}

export class LabTeardownError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`lab teardown incomplete:\n${problems.join('\n')}`);
    this.name = 'LabTeardownError';
  }
}

const stateFile = (stateDir: string) => `${stateDir}/lab.json`;

async function readState(stateDir: string): Promise<LabState | undefined> {
  try {
    const raw = JSON.parse(await readFile(stateFile(stateDir), 'utf8')) as Partial<LabState>;
    if (typeof raw.prefix !== 'string' || !Array.isArray(raw.servers)) return undefined;
    return { prefix: raw.prefix, feedsDir: String(raw.feedsDir ?? ''), servers: raw.servers, ...(raw.shape ? { shape: raw.shape } : {}) };
  } catch {
    return undefined;
  }
}

async function writeState(stateDir: string, state: LabState): Promise<void> {
  const tmp = `${stateFile(stateDir)}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2));
  await rename(tmp, stateFile(stateDir));
}

/** Only signal a recorded PID if it still is our server: PIDs get reused. */
async function isOurServer(pid: number, prefix: string, stateDir: string): Promise<boolean> {
  const argv = await processArgv(pid);
  if (!argv) return false;
  if (isLabNsd(argv, stateDir) || isLabIperf(argv, stateDir)) return true;
  const i = argv.indexOf('--lab');
  return i >= 0 && argv[i + 1] === prefix && argv.some((a) => /servers\.(ts|js)$/.test(a));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function tail(file: string, bytes = 2000): Promise<string> {
  try {
    const s = await readFile(file, 'utf8');
    return s.slice(-bytes);
  } catch {
    return '(no log)';
  }
}

/** Arguments to start one lab server: the lead can run `dist/lab/servers.js` by passing `script`. */
export function serversSpawnArgs(spec: ServerSpec, script?: string): NodeLaunch {
  const base = nodeScriptLaunch('servers', script);
  return { ...base, args: [...base.args, '--lab', spec.lab, '--spec', JSON.stringify(spec)] };
}

async function startServer(server: LabServer, stateDir: string, script: string | undefined, timeoutMs: number): Promise<LabServerProcess> {
  const { spec, ns } = server;
  const launch = serversSpawnArgs(spec, script);
  const logFile = `${stateDir}/${spec.name}.log`;
  await rm(spec.readyFile, { force: true });
  const fd = openSync(logFile, 'a');
  let pid: number | undefined;
  try {
    // Detached with its output in a file: the servers outlive the process that ran `lab up` (the demo).
    const child = spawnInNs(ns, launch.command, launch.args, { cwd: launch.cwd, detached: true, stdio: ['ignore', fd, fd] });
    child.on('error', () => {});
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(fd);
  }
  if (pid === undefined) throw new Error(`could not start lab server ${spec.name} in ${ns}:\n${await tail(logFile)}`);
  const proc: LabServerProcess = { name: spec.name, ns, pid, logFile, readyFile: spec.readyFile };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await readFile(spec.readyFile).then(() => true, () => false)) return proc;
    if (!isAlive(pid)) throw new Error(`lab server ${spec.name} in ${ns} exited before it was ready:\n${await tail(logFile)}`);
    if (Date.now() > deadline) {
      await killPids([pid]);
      throw new Error(`lab server ${spec.name} in ${ns} not ready after ${timeoutMs} ms:\n${await tail(logFile)}`);
    }
    await sleep(25);
  }
}

/**
 * Builds the lab from scratch: whatever a previous run left under this prefix is torn down first, so
 * calling it twice is safe (the second call gives a fresh lab; processes inside the old one are stopped).
 * On failure the partial lab is removed and the error (with the failing command's stderr) is rethrown.
 */
export async function labUp(opts: LabUpOptions = {}): Promise<Lab> {
  const shape: LabShapeOptions = {
    ...(opts.clients !== undefined ? { clients: opts.clients } : {}),
    ...(opts.bottleneck !== undefined ? { bottleneck: opts.bottleneck } : {}),
  };
  const topo = labTopology(opts.prefix ?? DEFAULT_PREFIX, shape);
  const iperf = opts.iperf ?? 0;
  if (!Number.isInteger(iperf) || iperf < 0 || iperf > 64) throw new Error(`lab iperf must be an integer 0..64: ${iperf}`);
  const stateDir = opts.stateDir ?? topo.stateDir;
  await labDown(topo.prefix, { stateDir });
  const feedsDir = opts.feedsDir ?? `${stateDir}/feeds`;
  await mkdir(stateDir, { recursive: true });
  await mkdir(feedsDir, { recursive: true });
  const state: LabState = { prefix: topo.prefix, feedsDir, shape, servers: [] };
  try {
    await writeState(stateDir, state);
    for (const step of buildPlan(topo)) {
      const [cmd, ...args] = step.argv;
      if (cmd === undefined) continue;
      await run(cmd, args, step.input !== undefined ? { input: step.input } : {});
    }
    if (opts.startServers ?? true) {
      const servers = labServers(topo, { stateDir, feedsDir });
      const timeoutMs = opts.readyTimeoutMs ?? 20_000;
      const dns = opts.dns ?? true;
      if (dns) await writeClientResolvConf(topo);
      const started = await Promise.allSettled([
        ...servers.map((s) => startServer(s, stateDir, opts.serversScript, timeoutMs)),
        ...(dns ? [startLabDns(topo, stateDir, timeoutMs)] : []),
        ...(iperf > 0 ? [startIperfServers(topo, stateDir, iperf, timeoutMs)] : []),
      ]);
      for (const r of started) if (r.status === 'fulfilled') state.servers.push(...[r.value].flat());
      await writeState(stateDir, state);
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  } catch (err) {
    await labDown(topo.prefix, { stateDir }).catch(() => {});
    throw err;
  }
  return { topology: topo, stateDir, feedsDir, servers: state.servers };
}

export interface LabDownOptions {
  readonly stateDir?: string;
  /** Also delete the state folder (logs, default feeds folder). Default false: logs help after a failure. */
  readonly removeStateDir?: boolean;
}

export interface LabDownReport {
  readonly namespacesRemoved: readonly string[];
  readonly pidsStopped: readonly number[];
}

/**
 * Stops the lab's servers and every other process still inside the lab's namespaces (a Gatehouse daemon
 * started with spawnInNs, probe agents), then deletes the namespaces — which takes their links, routes and
 * nft tables with them. Missing pieces are fine; anything that survives is reported by LabTeardownError.
 */
export async function labDown(prefix: string = DEFAULT_PREFIX, opts: LabDownOptions = {}): Promise<LabDownReport> {
  const topo = labTopology(prefix);
  const stateDir = opts.stateDir ?? topo.stateDir;
  const problems: string[] = [];
  const toStop = new Set<number>();
  const state = await readState(stateDir);
  for (const s of state?.servers ?? []) {
    if (isAlive(s.pid) && (await isOurServer(s.pid, prefix, stateDir))) toStop.add(s.pid);
  }
  const namespaces = await labNamespaces(topo);
  for (const ns of namespaces) {
    for (const pid of await pidsInNetns(ns)) if (pid !== process.pid) toStop.add(pid);
  }
  const pids = [...toStop];
  const survivors = await killPids(pids);
  for (const pid of survivors) problems.push(`process ${pid} did not stop`);

  await removeClientResolvConf(topo).catch((err: unknown) => problems.push(`resolv.conf: ${err instanceof Error ? err.message : String(err)}`));
  const removed: string[] = [];
  for (const ns of namespaces) {
    if (!netnsExists(ns)) continue;
    try {
      await run('ip', ['netns', 'del', ns]);
      removed.push(ns);
    } catch (err) {
      if (netnsExists(ns)) problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  try {
    await rm(stateFile(stateDir), { force: true });
    if (opts.removeStateDir) {
      await rm(stateDir, { recursive: true, force: true });
    } else {
      for (const f of await readdir(stateDir).catch(() => [] as string[])) {
        if (f.endsWith('.ready') || f.endsWith('.tmp')) await rm(`${stateDir}/${f}`, { force: true });
      }
    }
  } catch (err) {
    problems.push(`state files: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (problems.length > 0) throw new LabTeardownError(problems);
  return { namespacesRemoved: removed, pidsStopped: pids };
}

/**
 * The default namespaces plus any extra client namespace (`<prefix>-c3` …) a lab built with more clients left,
 * found by name even when the state file is gone (a crashed run): names are unique to the prefix.
 */
async function labNamespaces(topo: LabTopology): Promise<string[]> {
  const extra = new RegExp(`^${topo.prefix}-c[0-9]+$`);
  const found = (await listNetns()).filter((n) => extra.test(n) && !topo.namespaces.all.includes(n));
  return [...topo.namespaces.all.slice(0, -1), ...found, topo.namespaces.inet];
}

export interface LabAddress {
  readonly ifname: string;
  /** CIDR notation, e.g. `10.77.0.10/24`. */
  readonly address: string;
  readonly family: 4 | 6;
}

export interface LabNamespaceStatus {
  readonly name: string;
  readonly exists: boolean;
  /** Global and site-scope addresses (link-local and loopback left out). */
  readonly addresses: readonly LabAddress[];
  /** Interfaces that are up, besides lo. */
  readonly linksUp: readonly string[];
}

export interface LabServerStatus extends LabServerProcess {
  readonly running: boolean;
  readonly ready: boolean;
}

export interface LabStatus {
  readonly prefix: string;
  readonly topology: LabTopology;
  readonly namespaces: readonly LabNamespaceStatus[];
  readonly servers: readonly LabServerStatus[];
  readonly feedsDir?: string;
  /** Every namespace exists and every recorded server is running. */
  readonly up: boolean;
}

interface IpJsonLink {
  ifname?: string;
  operstate?: string;
  flags?: string[];
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number; scope?: string }>;
}

async function namespaceStatus(ns: string): Promise<LabNamespaceStatus> {
  if (!netnsExists(ns)) return { name: ns, exists: false, addresses: [], linksUp: [] };
  const { stdout } = await ipIn(ns, ['-j', 'addr', 'show']);
  const links = JSON.parse(stdout || '[]') as IpJsonLink[];
  const addresses: LabAddress[] = [];
  const linksUp: string[] = [];
  for (const l of links) {
    const ifname = l.ifname ?? '?';
    if (ifname !== 'lo' && (l.flags ?? []).includes('UP')) linksUp.push(ifname);
    for (const a of l.addr_info ?? []) {
      if (a.scope !== 'global' || a.local === undefined) continue;
      addresses.push({ ifname, address: `${a.local}/${a.prefixlen ?? (a.family === 'inet6' ? 128 : 32)}`, family: a.family === 'inet6' ? 6 : 4 });
    }
  }
  return { name: ns, exists: true, addresses, linksUp };
}

export async function labStatus(prefix: string = DEFAULT_PREFIX, opts: LabDownOptions = {}): Promise<LabStatus> {
  const stateDir = opts.stateDir ?? labTopology(prefix).stateDir;
  const state = await readState(stateDir);
  const topo = labTopology(prefix, state?.shape ?? {});
  const namespaces = await Promise.all(topo.namespaces.all.map(namespaceStatus));
  const servers: LabServerStatus[] = [];
  for (const s of state?.servers ?? []) {
    const running = isAlive(s.pid) && (await isOurServer(s.pid, prefix, stateDir));
    const ready = await readFile(s.readyFile).then(() => true, () => false);
    servers.push({ ...s, running, ready });
  }
  const up = namespaces.every((n) => n.exists) && state !== undefined && servers.every((s) => s.running);
  return { prefix, topology: topo, namespaces, servers, ...(state?.feedsDir ? { feedsDir: state.feedsDir } : {}), up };
}

/**
 * Stops the lab's DNS server (NSD) and nothing else: the gateway's upstream goes away, as when a real
 * resolver fails. labDnsUp brings it back with the same zone.
 */
export async function labDnsDown(prefix: string = DEFAULT_PREFIX, opts: { stateDir?: string } = {}): Promise<void> {
  const topo = labTopology(prefix);
  const stateDir = opts.stateDir ?? topo.stateDir;
  const state = await readState(stateDir);
  if (!state) throw new Error(`lab ${prefix} is not up`);
  const dns = state.servers.filter((s) => s.name === DNS_SERVER_NAME);
  const mine: number[] = [];
  for (const s of dns) if (isAlive(s.pid) && (await isOurServer(s.pid, prefix, stateDir))) mine.push(s.pid);
  const survivors = await killPids(mine);
  if (survivors.length > 0) throw new Error(`nsd ${survivors.join(', ')} did not stop`);
  await rm(`${stateDir}/${DNS_SERVER_NAME}.ready`, { force: true });
}

export async function labDnsUp(prefix: string = DEFAULT_PREFIX, opts: { stateDir?: string; readyTimeoutMs?: number } = {}): Promise<LabServerProcess> {
  const topo = labTopology(prefix);
  const stateDir = opts.stateDir ?? topo.stateDir;
  const state = await readState(stateDir);
  if (!state) throw new Error(`lab ${prefix} is not up`);
  const proc = await startLabDns(topo, stateDir, opts.readyTimeoutMs ?? 20_000);
  state.servers = [...state.servers.filter((s) => s.name !== DNS_SERVER_NAME), proc];
  await writeState(stateDir, state);
  return proc;
}
