import { chainRef, hex, ifnames, int, ints, kw, rule, setRef, type KernelFragment, type NftRule } from '../../firewall/index.js';
import type { FragmentPart } from '../fragment.js';
import { MARK_ELEPHANT, MARK_P2P } from '../marks.js';
import { HIGH_PORT, NORMAL_HIGH_PORTS } from './ports.js';
import { LSD, PAYLOAD_SIGNATURES, SIGNATURE_CODES, type SignatureName } from './signatures.js';

export interface P2pRuleOptions {
  /** The LAN interfaces (clients' side): which address of a packet is the client's. */
  readonly lan: readonly string[];
  /** How long a remembered peer endpoint makes new flows to it P2P (default 30 min). */
  readonly peerMemorySec?: number;
  /** How long a client stays flagged after its last signature (default 10 min). */
  readonly clientHoldSec?: number;
}

/** Names the tracker and s1's status read (KernelRuntime.list / apply). */
export const P2P_SETS = {
  /** `client . signature code`: which signatures the kernel saw for which client (evidence). */
  sig4: 'shaper_p2p_sig4',
  sig6: 'shaper_p2p_sig6',
  /** Clients doing P2P: their unclassified high-port flows get the P2P bit. Behaviour detection adds here too. */
  clients4: 'shaper_p2p_clients4',
  clients6: 'shaper_p2p_clients6',
  /** `peer . port` endpoints seen in signature flows: later (encrypted) flows to them get the P2P bit. */
  peers4: 'shaper_p2p_peers4',
  peers6: 'shaper_p2p_peers6',
} as const;

const SIG_CHAIN = 'shaper_p2p_sig';
const EVIDENCE_CHAIN: Readonly<Record<SignatureName, string>> = {
  'bittorrent-handshake': 'shaper_p2p_ev_bt',
  dht: 'shaper_p2p_ev_dht',
  utp: 'shaper_p2p_ev_utp',
  'udp-tracker': 'shaper_p2p_ev_trk',
  lsd: 'shaper_p2p_ev_lsd',
};

const bit = int(MARK_P2P);

function signatureRule(s: (typeof PAYLOAD_SIGNATURES)[number]): NftRule {
  const at = int(s.offsetBits);
  const bits = int(s.value.length * 8);
  const v = hex(s.value);
  const ev = chainRef(EVIDENCE_CHAIN[s.name]);
  if (s.proto === 'tcp') {
    return s.base === 'ih'
      ? rule`meta l4proto tcp @ih,${at},${bits} ${v} ct mark set ct mark or ${bit} goto ${ev}`
      : rule`meta l4proto tcp @th,${at},${bits} ${v} ct mark set ct mark or ${bit} goto ${ev}`;
  }
  const len = s.udpLength;
  if (len && 'exact' in len) return rule`udp length ${int(len.exact)} @th,${at},${bits} ${v} ct mark set ct mark or ${bit} goto ${ev}`;
  if (len) return rule`udp length >= ${int(len.min)} @th,${at},${bits} ${v} ct mark set ct mark or ${bit} goto ${ev}`;
  return rule`meta l4proto udp @th,${at},${bits} ${v} ct mark set ct mark or ${bit} goto ${ev}`;
}

/**
 * Evidence for one signature: the client (the LAN side of the packet, whichever way it flows) goes into the
 * signature and client sets, the far end's address and port into the peer memory.
 */
function evidenceRules(name: SignatureName, lan: ReturnType<typeof ifnames>): NftRule[] {
  const code = int(SIGNATURE_CODES[name]);
  const out: NftRule[] = [];
  const v4 = [setRef(P2P_SETS.sig4), setRef(P2P_SETS.clients4), setRef(P2P_SETS.peers4)] as const;
  const v6 = [setRef(P2P_SETS.sig6), setRef(P2P_SETS.clients6), setRef(P2P_SETS.peers6)] as const;
  // The family is explicit: a set statement's `ip saddr` alone would not keep IPv6 packets out.
  out.push(
    rule`meta nfproto ipv4 iifname ${lan} update ${v4[0]} { ip saddr . ${code} } update ${v4[1]} { ip saddr } update ${v4[2]} { ip daddr . th dport }`,
    rule`meta nfproto ipv4 oifname ${lan} update ${v4[0]} { ip daddr . ${code} } update ${v4[1]} { ip daddr } update ${v4[2]} { ip saddr . th sport }`,
    rule`meta nfproto ipv6 iifname ${lan} update ${v6[0]} { ip6 saddr . ${code} } update ${v6[1]} { ip6 saddr } update ${v6[2]} { ip6 daddr . th dport }`,
    rule`meta nfproto ipv6 oifname ${lan} update ${v6[0]} { ip6 daddr . ${code} } update ${v6[1]} { ip6 daddr } update ${v6[2]} { ip6 saddr . th sport }`,
  );
  return out;
}

function lsdRules(lan: ReturnType<typeof ifnames>): NftRule[] {
  const code = int(SIGNATURE_CODES.lsd);
  const port = int(LSD.port);
  return [
    rule`iifname ${lan} ip daddr 239.192.152.143 udp dport ${port} update ${setRef(P2P_SETS.sig4)} { ip saddr . ${code} } update ${setRef(P2P_SETS.clients4)} { ip saddr }`,
    rule`iifname ${lan} ip6 daddr ff15::efc0:988f udp dport ${port} update ${setRef(P2P_SETS.sig6)} { ip6 saddr . ${code} } update ${setRef(P2P_SETS.clients6)} { ip6 saddr }`,
  ];
}

/**
 * P2P detection in the kernel, never blocking: signatures set the P2P bit on the connection and record the
 * client and peer; new flows to a remembered peer, and a flagged client's new flows to unclassified high
 * ports (either way through the gateway), get the bit too. s1's classification sends P2P-bit flows to the
 * client's penalty class. Rules go to `shaper-guards` (forward; LSD multicast in nat_prerouting: the first packet of each
 * announce's conntrack), before `shaper-classify`.
 */
export function p2pRules(opts: P2pRuleOptions): FragmentPart {
  const lan = ifnames(opts.lan);
  const peerSec = opts.peerMemorySec ?? 1800;
  const holdSec = opts.clientHoldSec ?? 600;
  const set = (name: string, type: ('ipv4_addr' | 'ipv6_addr' | 'inet_service' | 'mark')[], timeoutSec: number, size: number) =>
    ({ name, type, flags: ['dynamic', 'timeout'] as const, timeoutSec, size });
  const sets = [
    set(P2P_SETS.sig4, ['ipv4_addr', 'mark'], holdSec, 16384),
    set(P2P_SETS.sig6, ['ipv6_addr', 'mark'], holdSec, 16384),
    set(P2P_SETS.clients4, ['ipv4_addr'], holdSec, 16384),
    set(P2P_SETS.clients6, ['ipv6_addr'], holdSec, 16384),
    set(P2P_SETS.peers4, ['ipv4_addr', 'inet_service'], peerSec, 65536),
    set(P2P_SETS.peers6, ['ipv6_addr', 'inet_service'], peerSec, 65536),
  ];
  const names = Object.keys(EVIDENCE_CHAIN) as SignatureName[];
  const chains = [
    { name: SIG_CHAIN, rules: PAYLOAD_SIGNATURES.map(signatureRule) },
    ...names.filter((n) => n !== 'lsd').map((n) => ({ name: EVIDENCE_CHAIN[n], rules: evidenceRules(n, lan) })),
  ];
  const normal = ints(NORMAL_HIGH_PORTS);
  const high = int(HIGH_PORT);
  const forward: NftRule[] = [
    // Every packet of a flow neither P2P nor an elephant (a handshake comes first: a flow that already moved
    // 10 MB will not show one, and big downloads then skip the compares); the first few packets of a P2P
    // flow too (with conntrack accounting), so a handshake in a flow the client flag marked is evidence.
    rule`meta l4proto { tcp, udp } ct mark and ${int(MARK_P2P | MARK_ELEPHANT)} == 0 jump ${chainRef(SIG_CHAIN)}`,
    rule`meta l4proto { tcp, udp } ct mark and ${bit} == ${bit} ct original packets < 6 jump ${chainRef(SIG_CHAIN)}`,
  ];
  for (const fam of [4, 6] as const) {
    const ip = kw(fam === 4 ? 'ip' : 'ip6');
    const peers = setRef(fam === 4 ? P2P_SETS.peers4 : P2P_SETS.peers6);
    const clients = setRef(fam === 4 ? P2P_SETS.clients4 : P2P_SETS.clients6);
    forward.push(
      rule`ct state new ct mark and ${bit} == 0 iifname ${lan} ${ip} daddr . th dport ${peers} ct mark set ct mark or ${bit}`,
      rule`ct state new ct mark and ${bit} == 0 oifname ${lan} ${ip} saddr . th sport ${peers} ct mark set ct mark or ${bit}`,
      rule`ct state new ct mark and ${bit} == 0 iifname ${lan} ${ip} saddr ${clients} meta l4proto { tcp, udp } th dport >= ${high} th dport != ${normal} ct mark set ct mark or ${bit}`,
      rule`ct state new ct mark and ${bit} == 0 oifname ${lan} ${ip} daddr ${clients} meta l4proto { tcp, udp } th dport >= ${high} th dport != ${normal} ct mark set ct mark or ${bit}`,
    );
  }
  return {
    sets,
    chains,
    hooks: [
      { point: 'shaper-guards', chain: 'forward', rules: forward },
      { point: 'shaper-guards', chain: 'nat_prerouting', rules: lsdRules(lan) },
    ],
  };
}
