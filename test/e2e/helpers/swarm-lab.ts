/**
 * A lab (prefix of the test's choosing) with the shaper's detection and guard rules in the gateway's table
 * as s2's parts render them, a minimal download-side HTB (normal class 1:10, P2P penalty class 1:30) and
 * classification by the P2P bit, the swarm serving in the inet namespace, and helpers to run swarm clients
 * in the LAN clients' namespaces and read what the kernel did.
 */
import { resolve } from 'node:path';
import { composeTable } from '../../../src/firewall/compose.js';
import { ifnames, int, rule, type KernelFragment } from '../../../src/firewall/index.js';
import { kernelRuntime, type KernelRuntime } from '../../../src/firewall/runtime.js';
import type { NftRunner } from '../../../src/firewall/nft.js';
import { labDown, labUp, type Lab } from '../../../src/lab/lab.js';
import { ipIn, netnsPath, nsExec, run, spawnInNs } from '../../../src/lab/ns.js';
import type { ClientReport, ClientSpec, Endpoint, HoldReport, HoldSpec, ServeSpec } from '../../../src/lab/swarm.js';
import { MARK_P2P } from '../../../src/shaper/marks.js';
import { startSwarm as startLabSwarm } from '../../../src/lab/swarm-serve.js';
import { parseClassStats } from '../../../src/shaper/tc.js';
import { mergeParts } from '../../../src/shaper/fragment.js';
import { detectionParts, type DetectionOptions } from '../../../src/shaper/guards/index.js';
import type { Launched } from '../../../src/firewall/index.js';

export const SWARM = resolve(import.meta.dirname, '..', '..', '..', 'src', 'lab', 'swarm.ts');
export const isRoot = process.getuid?.() === 0;
const TABLE = 'gatehouse';

/** 24 peers, one per address, each on its own high port (TCP and UDP). */
export const PEERS: readonly Endpoint[] = Array.from({ length: 24 }, (_, i) => ({ host: `198.51.100.${101 + i}`, port: 20001 + i * 7 }));
/** A few IPv6 peers (the LAN's IPv6 is routed, not NATed). */
export const PEERS6: readonly Endpoint[] = Array.from({ length: 4 }, (_, i) => ({ host: `2001:db8:100::${i + 1}`, port: 21001 + i }));
/** The same hosts on other ports: endpoints no signature ever named. */
export const FRESH_PEERS: readonly Endpoint[] = PEERS.map((p) => ({ host: p.host, port: p.port + 3 }));
export const WEB_HOST = '198.51.100.150';
export const HOLD: Endpoint = { host: WEB_HOST, port: 7000 };
export const SEED_BYTES = 100_000;

export interface ClassBytes {
  readonly normal: number;
  readonly p2p: number;
}

/** The peers' and the web host's addresses on the inet namespace's `lo` (the gateway routes everything there). */
export async function addSwarmAddresses(inetNs: string): Promise<void> {
  for (const h of new Set([...PEERS.map((p) => p.host), WEB_HOST])) await ipIn(inetNs, ['addr', 'add', `${h}/32`, 'dev', 'lo']);
  for (const p of PEERS6) await ipIn(inetNs, ['-6', 'addr', 'add', `${p.host}/128`, 'dev', 'lo', 'nodad']);
}

/** Starts the swarm in the inet namespace; it ends with the lab. */
export function startSwarm(inetNs: string, spec: Omit<ServeSpec, 'seedBytes'> & { seedBytes?: number }): Promise<void> {
  return startLabSwarm(inetNs, { seedBytes: SEED_BYTES, ...spec });
}

export async function swarmClient(ns: string, spec: ClientSpec): Promise<ClientReport> {
  const r = await nsExec(ns, process.execPath, ['--import', 'tsx', SWARM, 'client', JSON.stringify(spec)], { timeoutMs: 60_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ClientReport;
}

export async function swarmHold(ns: string, spec: HoldSpec): Promise<HoldReport> {
  const r = await nsExec(ns, process.execPath, ['--import', 'tsx', SWARM, 'hold', JSON.stringify(spec)], { timeoutMs: 60_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as HoldReport;
}

/** `tc -s class show` bytes per class id (this tc prints no JSON for classes). */
export async function tcClassBytes(ns: string, dev: string): Promise<Map<string, number>> {
  const r = await nsExec(ns, 'tc', ['-s', 'class', 'show', 'dev', dev]);
  // The shaper's tree is always handle 1: (htb.ts).
  return new Map(parseClassStats(r.stdout).map((c) => [`1:${c.minor.toString(16)}`, c.bytes]));
}

export class SwarmLab {
  private constructor(readonly lab: Lab, readonly fragment: KernelFragment) {}

  get gw(): string {
    return this.lab.topology.namespaces.gw;
  }

  static async start(prefix: string, detection: Omit<DetectionOptions, 'lan'>): Promise<SwarmLab> {
    const lab = await labUp({ prefix, startServers: false });
    try {
      const topo = lab.topology;
      await addSwarmAddresses(topo.namespaces.inet);
      const parts = mergeParts(detectionParts({ ...detection, lan: topo.gateway.lanInterfaces }));
      const lan = topo.gateway.lanInterfaces[0]!;
      const bit = int(MARK_P2P);
      // Stand-in for s1's classification: the P2P bit picks the penalty class on the download side.
      const out = ifnames([lan]);
      const classify = [rule`oifname ${out} ct mark and ${bit} == ${bit} meta priority set 1:30`, rule`oifname ${out} ct mark and ${bit} == 0 meta priority set 1:10`];
      if (lan !== 'br-lan') throw new Error(`the lab's LAN is ${lan}, the stand-in classification expects br-lan`);
      const fragment: KernelFragment = {
        module: 'shaper',
        sets: parts.sets,
        chains: parts.chains,
        hooks: [...parts.hooks, { point: 'shaper-classify', chain: 'mangle_postrouting', rules: classify }],
      };
      const s = new SwarmLab(lab, fragment);
      await s.nftScript(composeTable(TABLE, [fragment]).script);
      await s.acctOn();
      for (const argv of [
        ['qdisc', 'add', 'dev', lan, 'root', 'handle', '1:', 'htb', 'default', '10', 'r2q', '100'],
        ['class', 'add', 'dev', lan, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '2gbit', 'ceil', '2gbit'],
        ['class', 'add', 'dev', lan, 'parent', '1:1', 'classid', '1:10', 'htb', 'rate', '1gbit', 'ceil', '2gbit', 'prio', '1'],
        ['class', 'add', 'dev', lan, 'parent', '1:1', 'classid', '1:30', 'htb', 'rate', '1mbit', 'ceil', '50mbit', 'prio', '7'],
      ]) await nsExec(s.gw, 'tc', argv);
      return s;
    } catch (e) {
      await labDown(prefix).catch(() => undefined);
      throw e;
    }
  }

  /** conntrack accounting through the shaper's own switch, run in the gateway's namespace. */
  private async acctOn(): Promise<void> {
    const acct = resolve(import.meta.dirname, '..', '..', '..', 'src', 'shaper', 'guards', 'acct.ts');
    const code = `import(${JSON.stringify(acct)}).then(async (m) => { const s = await m.enableConntrackAcct(); console.log(JSON.stringify(s)); })`;
    const r = await nsExec(this.gw, process.execPath, ['--import', 'tsx', '-e', code]);
    const state = JSON.parse(r.stdout.trim().split('\n').pop()!) as { enabled: boolean; error?: string };
    if (!state.enabled) throw new Error(`conntrack accounting: ${state.error}`);
  }

  async nftScript(script: string): Promise<void> {
    await nsExec(this.gw, 'nft', ['-f', '-'], { input: script });
  }

  async serve(spec: Omit<ServeSpec, 'seedBytes'> & { seedBytes?: number }): Promise<void> {
    await startSwarm(this.lab.topology.namespaces.inet, spec);
  }

  client(which: 0 | 1, spec: ClientSpec): Promise<ClientReport> {
    return swarmClient(this.lab.topology.clients[which].ns, spec);
  }

  hold(which: 0 | 1, spec: HoldSpec): Promise<HoldReport> {
    return swarmHold(this.lab.topology.clients[which].ns, spec);
  }

  /** Bytes sent so far by the download side's normal and penalty classes. */
  async classBytes(): Promise<ClassBytes> {
    const b = await tcClassBytes(this.gw, 'br-lan');
    if (!b.has('1:10') || !b.has('1:30')) throw new Error(`classes missing: ${JSON.stringify([...b])}`);
    return { normal: b.get('1:10')!, p2p: b.get('1:30')! };
  }

  async setElements(set: string): Promise<string[]> {
    const r = await nsExec(this.gw, 'nft', ['list', 'set', 'inet', TABLE, set]);
    const m = /elements = \{([^}]*)\}/s.exec(r.stdout);
    if (!m) return [];
    return m[1]!.split(',').map((e) => e.replace(/\s+(expires|timeout|counter)\b.*$/s, '').trim()).filter((e) => e !== '');
  }

  /** The firewall's KernelRuntime for this fragment, with nft and conntrack run in the gateway's namespace. */
  runtime(): KernelRuntime {
    const ns = this.gw;
    const listNamed = async (kind: 'set' | 'map', table: string, name: string): Promise<unknown> =>
      JSON.parse((await nsExec(ns, 'nft', ['-j', 'list', kind, 'inet', table, name])).stdout) as unknown;
    const nft: NftRunner = {
      apply: async (script) => void (await nsExec(ns, 'nft', ['-f', '-'], { input: script })),
      listSet: (t, n) => listNamed('set', t, n),
      listMap: (t, n) => listNamed('map', t, n),
      hasTable: async () => true,
    };
    return kernelRuntime({ table: TABLE, nft, fragment: () => this.fragment, ready: async () => undefined, module: 'shaper' });
  }

  /** `launch` for the gateway's namespace (the daemon runs there; the test does not). */
  exec(): (cmd: string, args: readonly string[]) => Promise<Launched> {
    return async (cmd, args) => {
      const r = await run('nsenter', [`--net=${netnsPath(this.gw)}`, cmd, ...args]).catch((e: { exitCode?: number; stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.exitCode ?? 1 }));
      return { code: 'code' in r ? r.code : 0, stdout: r.stdout, stderr: r.stderr };
    };
  }

  async close(): Promise<void> {
    await labDown(this.lab.topology.prefix);
  }
}
