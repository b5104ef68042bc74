import type { TrackedFlow } from './conntrack.js';
import { isNormalPort } from './ports.js';

/**
 * The transport-layer P2P heuristic (Karagiannis et al., gateway.md §B.3), on one conntrack snapshot: a
 * client talking to many distinct remote hosts on unclassified high ports, some of them over both TCP and
 * UDP (a BitTorrent peer takes TCP and uTP/DHT on the same address), is doing P2P — whatever its payload
 * looks like (encrypted flows included). Web browsing reaches many hosts too, but on 80/443.
 */

export interface BehaviourOptions {
  /** Which original-direction source addresses are LAN clients (the gateway's own flows are not). */
  readonly isClient: (ip: string) => boolean;
  /** Distinct remote hosts on high ports that flag a client (default 20). */
  readonly minPeers?: number;
  /** Of those, how many must be reached over both TCP and UDP (default 3). */
  readonly minBothPeers?: number;
}

export interface ClientBehaviour {
  readonly client: string;
  /** Distinct remote hosts on unclassified high ports (TCP or UDP). */
  readonly peers: number;
  readonly tcpPeers: number;
  readonly udpPeers: number;
  /** Remote hosts reached over TCP and over UDP. */
  readonly bothPeers: number;
  readonly flagged: boolean;
}

export const DEFAULT_MIN_PEERS = 20;
export const DEFAULT_MIN_BOTH_PEERS = 3;

/** Per-client figures for every client with at least one high-port flow, busiest first. */
export function analyseBehaviour(flows: readonly TrackedFlow[], opts: BehaviourOptions): ClientBehaviour[] {
  const minPeers = opts.minPeers ?? DEFAULT_MIN_PEERS;
  const minBoth = opts.minBothPeers ?? DEFAULT_MIN_BOTH_PEERS;
  const byClient = new Map<string, { tcp: Set<string>; udp: Set<string> }>();
  for (const f of flows) {
    if (f.proto !== 'tcp' && f.proto !== 'udp') continue;
    const dport = f.orig.dport;
    if (dport === undefined || isNormalPort(dport)) continue;
    if (!opts.isClient(f.orig.src) || opts.isClient(f.orig.dst)) continue;
    let c = byClient.get(f.orig.src);
    if (!c) byClient.set(f.orig.src, (c = { tcp: new Set(), udp: new Set() }));
    c[f.proto].add(f.orig.dst);
  }
  const out: ClientBehaviour[] = [];
  for (const [client, { tcp, udp }] of byClient) {
    const peers = new Set([...tcp, ...udp]).size;
    let both = 0;
    for (const p of tcp) if (udp.has(p)) both++;
    out.push({ client, peers, tcpPeers: tcp.size, udpPeers: udp.size, bothPeers: both, flagged: peers >= minPeers && both >= minBoth });
  }
  return out.sort((a, b) => b.peers - a.peers || (a.client < b.client ? -1 : 1));
}
