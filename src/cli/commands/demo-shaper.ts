import { access, constants, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  LabGateway, closeProbes, iperfTogether, ipIn, labDown, labGatewayConfig, labUp, mbit, nodeScriptLaunch, nsExec, startSwarm,
  type IperfResult, type LabTopology,
} from '../../lab/index.js';

/**
 * The fair-share shaper's demo step (issue #12): its own small lab — three residents behind a 50/10 Mbit/s
 * "ISP link" — because it fills the link for a while. Alice downloads with 16 parallel connections (a
 * download manager), Bob with one, Carol too; then Carol starts a BitTorrent-like swarm. Printed as a table
 * of measured rates (iperf3): no shaper · shaper · shaper after Carol was flagged for P2P.
 */

const LINK = { down: '50mbit', up: '10mbit' } as const;
const SHAPER = { download: '47mbit', upload: '9mbit', p2p: 'throttle', p2p_rate: '1mbit' };
const RESIDENTS = ['alice (16 connections)', 'bob (1 connection)', 'carol (1 connection, then P2P)'] as const;
/** Swarm peers in the lab internet, each on its own address and high port. */
const PEERS = Array.from({ length: 24 }, (_, i) => ({ host: `198.51.100.${101 + i}`, port: 20001 + i * 7 }));
const SECONDS = 5;

interface StatusClient {
  readonly ips: readonly string[];
  readonly p2p?: { readonly signatures: readonly string[]; readonly peers: number };
}

async function serveSwarm(topo: LabTopology): Promise<void> {
  for (const p of PEERS) await ipIn(topo.inet.ns, ['addr', 'add', `${p.host}/32`, 'dev', topo.inet.serverInterface]);
  await startSwarm(topo.inet.ns, { peers: PEERS, seedBytes: 100_000 });
}

/** Carol's torrent client: BitTorrent handshakes over TCP and DHT pings over UDP to every peer. */
async function runSwarmClient(topo: LabTopology): Promise<void> {
  const launch = nodeScriptLaunch('swarm');
  const spec = { peers: PEERS, mode: 'plain', tcp: true, udp: true, timeoutMs: 5000 };
  await nsExec(topo.clients[2]!.ns, launch.command, [...launch.args, 'client', JSON.stringify(spec)], { timeoutMs: 60_000 });
}

const together = (topo: LabTopology): Promise<IperfResult[]> =>
  iperfTogether(topo, topo.clients.slice(0, 3).map((c, i) => ({ ns: c.ns, port: topo.iperf.basePort + i, streams: i === 0 ? 16 : 1 })), { seconds: SECONDS, omit: 2 });

async function waitForFlag(gw: LabGateway, ip: string): Promise<StatusClient> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await gw.cli(['shaper', 'status', '--json']);
    if (r.code === 0) {
      const hit = (JSON.parse(r.stdout) as { clients: StatusClient[] }).clients.find((c) => c.ips.includes(ip) && c.p2p);
      if (hit) return hit;
    }
    if (Date.now() > deadline) throw new Error(`the shaper did not flag ${ip} for P2P within 20 s: ${r.stdout || r.stderr}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

export function rateTable(columns: readonly { readonly title: string; readonly bps: readonly number[] }[]): string {
  const head = ['resident', ...columns.map((c) => c.title)];
  const rows = RESIDENTS.map((name, i) => [name, ...columns.map((c) => `${mbit(c.bps[i] ?? 0)} Mbit/s`)]);
  const widths = head.map((_, j) => Math.max(...[head, ...rows].map((r) => r[j]!.length)));
  const line = (r: readonly string[]) => r.map((x, j) => (j === 0 ? x.padEnd(widths[j]!) : x.padStart(widths[j]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

async function hasIperf3(): Promise<boolean> {
  for (const d of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (await access(join(d || '.', 'iperf3'), constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}

export async function demoShaper(opts: { readonly prefix: string; readonly dir: string; readonly say: (s: string) => void }): Promise<void> {
  const { say } = opts;
  if (!(await hasIperf3())) {
    say('fair sharing: skipped — iperf3 is not installed (scripts/install-peers.sh installs it)');
    return;
  }
  const dir = join(opts.dir, 'shaper');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  say(`fair sharing: a second lab (${opts.prefix}-*) with three residents behind a 50/10 Mbit/s ISP link`);
  const lab = await labUp({ prefix: opts.prefix, clients: 3, bottleneck: LINK, iperf: 3 });
  const topo = lab.topology;
  const gw = new LabGateway(topo, dir, labGatewayConfig(topo, dir));
  try {
    await serveSwarm(topo);
    console.log(`alice downloads with 16 parallel connections, bob and carol with one each (iperf3, ${SECONDS} s)`);
    await gw.startDaemon();
    const none = await together(topo);
    await gw.stopDaemon();

    say(`shaper on: download ${SHAPER.download}, upload ${SHAPER.upload} (a little below the ISP link), p2p_rate ${SHAPER.p2p_rate}`);
    await gw.writeConfig({ shaper: SHAPER });
    await gw.startDaemon();
    const fair = await together(topo);

    say('carol starts a BitTorrent-like swarm: handshakes and DHT pings to 24 peers');
    await runSwarmClient(topo);
    const flagged = await waitForFlag(gw, topo.clients[2]!.ipv4);
    console.log(`flagged: ${flagged.p2p?.signatures.join(', ') || 'behaviour'}, ${flagged.p2p?.peers ?? 0} peers — her high-port flows now go to the P2P class`);
    const penalised = await together(topo);

    say('download rates (measured by iperf3 in each resident\'s namespace)');
    console.log(rateTable([
      { title: 'no shaper', bps: none.map((r) => r.bps) },
      { title: 'shaper', bps: fair.map((r) => r.bps) },
      { title: 'carol flagged P2P', bps: penalised.map((r) => r.bps) },
    ]));
    console.log('(nothing is blocked: only carol\'s flows to unclassified high ports — like her torrent\'s — go to the P2P class; her web, DNS, mail and VoIP ports keep her share)');
    console.log((await gw.cli(['shaper', 'status'])).stdout.trim());
  } finally {
    await gw.stopDaemon().catch(() => undefined);
    await closeProbes().catch(() => undefined);
    await labDown(opts.prefix).catch((e: Error) => console.error(e.message));
    await rm(dir, { recursive: true, force: true });
  }
}
