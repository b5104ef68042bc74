import type { LabTopology } from './topology.js';
import { iperfTogether } from './iperf.js';
import { jainIndex, type LatencySummary } from './fairness.js';
import { sshConnectFrom, tcpRequestFrom, udpEchoFrom } from './latency.js';
import { siteUrl } from './topology.js';

/**
 * The two situations issue #12 is about, as measurements on a lab (labUp with `clients`, a `bottleneck` and
 * `iperf` servers). They only measure: whether Gatehouse's shaper runs is the caller's business, so the same
 * code gives the "no shaper" and the "shaper" figures for the tests and the bench.
 */

export interface FairnessOptions {
  /** Streams of the first client (a download manager); the others use one. Default 16. */
  readonly heavyStreams?: number;
  /** How many clients download (c1..cN). Default every client of the lab. */
  readonly clients?: number;
  readonly seconds?: number;
  readonly omit?: number;
}

export interface ClientRate {
  readonly client: string;
  readonly streams: number;
  readonly bps: number;
}

export interface FairnessResult {
  readonly clients: readonly ClientRate[];
  readonly jain: number;
  readonly totalBps: number;
}

/** Every client downloads from its own iperf3 server at once; client 1 with `heavyStreams` parallel streams. */
export async function fairnessRun(topo: LabTopology, opts: FairnessOptions = {}): Promise<FairnessResult> {
  const n = opts.clients ?? topo.clients.length;
  const clients = topo.clients.slice(0, n);
  const runs = clients.map((c, i) => ({ ns: c.ns, port: topo.iperf.basePort + i, streams: i === 0 ? (opts.heavyStreams ?? 16) : 1 }));
  // Omit a few seconds: TCP slow start of 19 flows overshoots any queue before the steady state shows.
  const results = await iperfTogether(topo, runs, { seconds: opts.seconds ?? 10, omit: opts.omit ?? 3 });
  const rates = results.map((r, i) => ({ client: clients[i]!.name, streams: r.streams, bps: r.bps }));
  return { clients: rates, jain: jainIndex(rates.map((r) => r.bps)), totalBps: rates.reduce((a, r) => a + r.bps, 0) };
}

export interface LatencyOptions {
  /** Streams of the saturating client (c1). Default 2: enough to fill the link. */
  readonly streams?: number;
  /** Samples of each probe. Default 30. */
  readonly samples?: number;
  /**
   * How long c1 downloads before probing. Default 6 s: past TCP slow start, and past the shaper's "young flow"
   * phase (a flow counts as bulk once it moved 10 MB: ~4 s for each of 2 streams at 47 Mbit/s) — the steady
   * state of a long download. Shorter settles measure the first seconds of a download instead.
   */
  readonly settleMs?: number;
  /**
   * Called after both residents sent a little traffic and before the download starts: residents who have been
   * online for a while (a shaper knows them) — the tests wait here until `shaper status` lists both. Default: 2.5 s.
   */
  readonly whenKnown?: () => Promise<void>;
}

export interface LatencyResult {
  /** Ping-sized UDP echo from c2 to the lab internet. */
  readonly udp: LatencySummary;
  /** A small TCP request/response from c2: connect, GET a small page, read the answer. */
  readonly tcp: LatencySummary;
  /**
   * The downloading resident's own SSH-sized round trip (TCP connect to an SSH port in the lab internet):
   * "typing into SSH while the same resident downloads".
   */
  readonly own: LatencySummary;
  /** What c1 got meanwhile. */
  readonly saturatorBps: number;
}

/** c1 fills the download link with several streams; c2 (and c1 itself) measure how long small exchanges take meanwhile. */
export async function latencyRun(topo: LabTopology, opts: LatencyOptions = {}): Promise<LatencyResult> {
  const samples = opts.samples ?? 30;
  const intervalMs = 100;
  const settleMs = opts.settleMs ?? 6000;
  // Long enough to cover the settling and both probes (the TCP one takes up to a few RTTs per sample).
  const seconds = Math.ceil((settleMs + samples * (intervalMs + 150)) / 1000) + 1;
  for (const c of topo.clients.slice(0, 2)) {
    for (let i = 0; i < 3; i++) await udpEchoFrom(c.ns, topo.sites.legit.ipv4, topo.ports.udpEcho, { count: 1, intervalMs: 0 });
  }
  await (opts.whenKnown ? opts.whenKnown() : new Promise((r) => setTimeout(r, 2500)));
  const saturate = iperfTogether(topo, [{ ns: topo.clients[0].ns, port: topo.iperf.basePort, streams: opts.streams ?? 2 }], { seconds, omit: 1 });
  saturate.catch(() => {});
  await new Promise((r) => setTimeout(r, settleMs));
  const prober = topo.clients[1].ns;
  const [udp, tcp, own] = await Promise.all([
    udpEchoFrom(prober, topo.sites.legit.ipv4, topo.ports.udpEcho, { count: samples, intervalMs }),
    tcpRequestFrom(prober, siteUrl(topo.sites.legit, 4, '/'), { count: samples, intervalMs }),
    // The attacker's address runs the lab internet's "ssh" banner on port 22.
    sshConnectFrom(topo.clients[0].ns, topo.attacker.ipv4, topo.ports.banner, { count: samples, intervalMs }),
  ]);
  const [sat] = await saturate;
  return { udp, tcp, own, saturatorBps: sat!.bps };
}
