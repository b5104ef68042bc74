import { openSync, closeSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import type { LabTopology } from './topology.js';
import { isAlive, killPids, nsExec, spawnInNs } from './ns.js';

/**
 * iperf3 servers (Debian's) in the lab's internet: one per port, because an iperf3 server runs one test at a
 * time — a fairness run gives each client its own port. They listen on the legit site's address only.
 */

export interface IperfServerProcess {
  readonly name: string;
  readonly ns: string;
  readonly pid: number;
  readonly logFile: string;
  readonly readyFile: string;
}

export const IPERF3 = 'iperf3';

const logPath = (stateDir: string, port: number) => `${stateDir}/iperf3-${port}.log`;

/** Recognises a lab iperf3 server by its log file inside this lab's state folder (PIDs get reused). */
export function isLabIperf(argv: readonly string[], stateDir: string): boolean {
  const i = argv.indexOf('--logfile');
  return /(^|\/)iperf3$/.test(argv[0] ?? '') && i >= 0 && (argv[i + 1] ?? '').startsWith(`${stateDir}/iperf3-`);
}

export function iperfServerArgs(topo: LabTopology, stateDir: string, port: number): string[] {
  return ['-s', '-B', topo.iperf.ipv4, '-p', String(port), '--logfile', logPath(stateDir, port)];
}

/** Ports the lab's iperf3 servers use: basePort, basePort+1, … */
export function iperfPorts(topo: LabTopology, count: number): number[] {
  return Array.from({ length: count }, (_, i) => topo.iperf.basePort + i);
}

async function listening(ns: string): Promise<Set<number>> {
  const { stdout } = await nsExec(ns, 'ss', ['-Hltn']);
  const ports = new Set<number>();
  for (const line of stdout.split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    const m = local ? /:(\d+)$/.exec(local) : null;
    if (m) ports.add(Number(m[1]));
  }
  return ports;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startIperfServers(topo: LabTopology, stateDir: string, count: number, timeoutMs: number): Promise<IperfServerProcess[]> {
  const ns = topo.inet.ns;
  const procs: IperfServerProcess[] = [];
  for (const port of iperfPorts(topo, count)) {
    const logFile = logPath(stateDir, port);
    const readyFile = `${stateDir}/iperf3-${port}.ready`;
    await rm(readyFile, { force: true });
    const fd = openSync(logFile, 'a');
    try {
      const child = spawnInNs(ns, IPERF3, iperfServerArgs(topo, stateDir, port), { detached: true, stdio: ['ignore', fd, fd] });
      child.on('error', () => {});
      child.unref();
      if (child.pid === undefined) throw new Error(`could not start iperf3 on port ${port} in ${ns}`);
      procs.push({ name: `iperf3-${port}`, ns, pid: child.pid, logFile, readyFile });
    } finally {
      closeSync(fd);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await listening(ns);
    const waiting = procs.filter((p) => !open.has(Number(p.name.slice('iperf3-'.length))));
    if (waiting.length === 0) break;
    const dead = waiting.find((p) => !isAlive(p.pid));
    if (dead || Date.now() > deadline) {
      await killPids(procs.map((p) => p.pid));
      throw new Error(`iperf3 server ${(dead ?? waiting[0])!.name} in ${ns} ${dead ? 'exited' : 'not listening'} (is iperf3 installed? scripts/install-peers.sh)`);
    }
    await sleep(50);
  }
  for (const p of procs) await writeFile(p.readyFile, `${p.pid}\n`);
  return procs;
}
