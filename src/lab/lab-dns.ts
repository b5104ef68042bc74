import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import type { LabTopology } from './topology.js';
import { clientResolvConf, labZoneFile, NSD_CONF, nsdConfig, ZONE_FILE } from './zone.js';
import { isAlive, killPids, nsExec, spawnInNs } from './ns.js';

/**
 * Effects for the lab's DNS: NSD serving the zone in the inet namespace, and the clients' resolv.conf.
 * The texts come from zone.ts.
 */

export const DNS_SERVER_NAME = 'inet-dns';

export interface LabDnsProcess {
  readonly name: string;
  readonly ns: string;
  readonly pid: number;
  readonly logFile: string;
  readonly readyFile: string;
}

export const nsdDir = (stateDir: string): string => `${stateDir}/dns`;
export const nsdConfPath = (stateDir: string): string => `${nsdDir(stateDir)}/${NSD_CONF}`;

/** True for the argv of the NSD this lab started (the config path is the lab's own). */
export function isLabNsd(argv: readonly string[], stateDir: string): boolean {
  const i = argv.indexOf('-c');
  return /(^|\/)nsd$/.test(argv[0] ?? '') && i >= 0 && argv[i + 1] === nsdConfPath(stateDir);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function tail(file: string, bytes = 2000): Promise<string> {
  return (await readFile(file, 'utf8').catch(() => '(no log)')).slice(-bytes);
}

/** Asks the authoritative server for the zone's SOA from inside the inet namespace. */
export async function labDnsAnswers(topo: LabTopology): Promise<boolean> {
  try {
    const { stdout } = await nsExec(topo.namespaces.inet, 'dig', ['+short', '+time=1', '+tries=1', `@${topo.dns.authoritative.ipv4}`, `${topo.dns.zone}.`, 'SOA'], { timeoutMs: 5000 });
    return stdout.trim().length > 0;
  } catch {
    return false;
  }
}

/** Writes the zone and config, starts NSD (foreground, detached from us) and waits until it answers. */
export async function startLabDns(topo: LabTopology, stateDir: string, timeoutMs: number): Promise<LabDnsProcess> {
  const dir = nsdDir(stateDir);
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}/${ZONE_FILE}`, labZoneFile(topo));
  await writeFile(nsdConfPath(stateDir), nsdConfig(topo, { dir }));
  const readyFile = `${stateDir}/${DNS_SERVER_NAME}.ready`;
  const logFile = `${stateDir}/${DNS_SERVER_NAME}.log`;
  await rm(readyFile, { force: true });
  await rm(`${dir}/nsd.pid`, { force: true });
  const fd = openSync(logFile, 'a');
  let pid: number | undefined;
  try {
    const child = spawnInNs(topo.namespaces.inet, 'nsd', ['-d', '-c', nsdConfPath(stateDir)], { detached: true, stdio: ['ignore', fd, fd] });
    child.on('error', () => {});
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(fd);
  }
  if (pid === undefined) throw new Error(`could not start nsd in ${topo.namespaces.inet}:\n${await tail(logFile)}`);
  const proc: LabDnsProcess = { name: DNS_SERVER_NAME, ns: topo.namespaces.inet, pid, logFile, readyFile };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await labDnsAnswers(topo)) break;
    const why = `${await tail(logFile)}\n${await tail(`${dir}/nsd.log`)}`;
    if (!isAlive(pid)) throw new Error(`nsd in ${topo.namespaces.inet} exited before it answered:\n${why}`);
    if (Date.now() > deadline) {
      await killPids([pid]);
      throw new Error(`nsd in ${topo.namespaces.inet} did not answer within ${timeoutMs} ms:\n${why}`);
    }
    await sleep(50);
  }
  await writeFile(readyFile, JSON.stringify({ pid, name: DNS_SERVER_NAME }));
  return proc;
}

const RESOLV_MARKER = '# gatehouse lab:';
const resolvDir = (ns: string) => `/etc/netns/${ns}`;

/**
 * The clients' /etc/resolv.conf as `ip netns exec` shows it (it bind-mounts /etc/netns/<ns>/resolv.conf),
 * so plain lookups (`ip netns exec gh-c1 curl http://shop.example/`) go to Gatehouse. nsenter does not do
 * that bind mount: tests name the server explicitly.
 */
export async function writeClientResolvConf(topo: LabTopology): Promise<void> {
  for (const c of topo.clients) {
    await mkdir(resolvDir(c.ns), { recursive: true });
    await writeFile(`${resolvDir(c.ns)}/resolv.conf`, clientResolvConf(topo));
  }
}

/** Removes what writeClientResolvConf wrote (only a file carrying our marker), and the folder when empty. */
export async function removeClientResolvConf(topo: LabTopology): Promise<void> {
  for (const ns of topo.namespaces.all) {
    const file = `${resolvDir(ns)}/resolv.conf`;
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined || !text.startsWith(RESOLV_MARKER)) continue;
    await rm(file, { force: true });
    await rmdir(resolvDir(ns)).catch(() => undefined);
  }
}
