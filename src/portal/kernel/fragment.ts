import { chainRef, ifnames, int, rule, setRef, type KernelFragment, type NftRule, type NftToken } from '../../firewall/index.js';
import { authSet, CHAIN, counterSet, dnsSet, EXEMPT_MAC, exemptSet, FAMS, QUOTA_PREFIX, quotaMap, type Direction, type Fam } from './names.js';

/**
 * The captive portal's part of the `inet gatehouse` table. Pure: the module hands it to the kernel table
 * (composeTable checks it again).
 *
 * Who is who, for a packet entering from a captive LAN interface:
 * - exempt (MAC, or address in an exempt range): untouched by the portal;
 * - granted (its MAC . address pair in portal_auth4/6): counted per address, stopped by its session's quota;
 * - anyone else: tcp/80 to the outside lands on the portal listener; the gateway itself answers only DHCP,
 *   DNS and the portal; everything else is rejected — a TCP reset or an ICMP admin-prohibited, so an app
 *   fails at once instead of hanging on a silent drop.
 * Every base-chain rule only jumps into a portal chain, whose `return` goes back to the base chain: the
 * modules hooked after the portal's points still see the packet.
 */

export interface PortalFragmentOptions {
  /** `portal.interfaces`: the captive LAN interfaces. */
  readonly lanInterfaces: readonly string[];
  /** The portal's plain-HTTP listener port on the gateway: unauthorised tcp/80 is redirected there. */
  readonly portalPort: number;
  /** Further portal listener ports unauthorised clients may reach (e.g. the TLS one for RFC 8908). */
  readonly extraPortalPorts?: readonly number[];
  /** Ports of the gateway's own DNS listeners (53, and dns.listen's when the DNS module redirects there). */
  readonly dnsPorts?: readonly number[];
}

export class PortalFragmentError extends Error {
  override name = 'PortalFragmentError';
}

export const PORTAL_MODULE = 'portal';

function port(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new PortalFragmentError(`${what}: ${String(n)} is not a port`);
  return n;
}

const ipf = (f: Fam): string => (f === 4 ? 'ip' : 'ip6');

/** `ether saddr . ip saddr @portal_auth4`: the same text for every chain that asks "granted?". */
function granted(f: Fam, then: 'return' | 'goto'): NftRule {
  const set = setRef(authSet(f));
  if (then === 'return') return f === 4 ? rule`ether saddr . ip saddr ${set} return` : rule`ether saddr . ip6 saddr ${set} return`;
  const acct = chainRef(f === 4 ? CHAIN.up4 : CHAIN.up6);
  return f === 4 ? rule`ether saddr . ip saddr ${set} goto ${acct}` : rule`ether saddr . ip6 saddr ${set} goto ${acct}`;
}

/** Exempt devices by MAC and by source address. */
function exemptBySource(): NftRule[] {
  return [
    rule`ether saddr ${setRef(EXEMPT_MAC)} return`,
    rule`ip saddr ${setRef(exemptSet(4))} return`,
    rule`ip6 saddr ${setRef(exemptSet(6))} return`,
  ];
}

const rejectAll = (): NftRule[] => [rule`meta l4proto tcp reject with tcp reset`, rule`reject with icmpx type admin-prohibited`];

/** A granted client's uploads: over its quota → refused; else counted in portal_up4/6. */
function uploadAccounting(f: Fam): NftRule[] {
  const q = setRef(quotaMap('up', f));
  const c = setRef(counterSet('up', f));
  return f === 4
    ? [rule`quota name ip saddr map ${q} reject with icmpx type admin-prohibited`, rule`ip saddr ${c} return`]
    : [rule`quota name ip6 saddr map ${q} reject with icmpx type admin-prohibited`, rule`ip6 saddr ${c} return`];
}

/**
 * Packets to a LAN client. Quotas count and stop what granted clients receive (the download stops at the
 * limit even at line rate: the kernel drops, the daemon only notices); counters follow the quota rule so
 * they count exactly what passed. Replies to flows a client was allowed to open pass; a flow started from
 * outside (or picked up mid-stream after a revoke deleted its conntrack entry) towards a client that is
 * neither granted nor exempt is refused.
 */
function downloadRules(): NftRule[] {
  const out: NftRule[] = [rule`ip daddr ${setRef(exemptSet(4))} return`, rule`ip6 daddr ${setRef(exemptSet(6))} return`];
  for (const f of FAMS) {
    const q = setRef(quotaMap('down', f));
    out.push(f === 4 ? rule`quota name ip daddr map ${q} drop` : rule`quota name ip6 daddr map ${q} drop`);
  }
  for (const f of FAMS) {
    const c = setRef(counterSet('down', f));
    out.push(f === 4 ? rule`ip daddr ${c} return` : rule`ip6 daddr ${c} return`);
  }
  out.push(rule`ct direction reply return`, ...rejectAll());
  return out;
}

export function portalFragment(o: PortalFragmentOptions): KernelFragment {
  if (o.lanInterfaces.length === 0) throw new PortalFragmentError('portal.interfaces: at least one captive LAN interface is needed');
  const lan: NftToken = ifnames(o.lanInterfaces);
  const http = int(port(o.portalPort, 'portal listener port'));
  const portalPorts = [...new Set([o.portalPort, ...(o.extraPortalPorts ?? [])].map((p) => port(p, 'portal listener port')))];
  const dnsPorts = [...new Set([53, ...(o.dnsPorts ?? [])].map((p) => port(p, 'DNS port')))];

  const counters = FAMS.flatMap((f) =>
    (['down', 'up'] as Direction[]).map((d) => ({ name: counterSet(d, f), type: [f === 4 ? 'ipv4_addr' : 'ipv6_addr'] as const, flags: ['timeout'] as const, counter: true })),
  );
  const addr = (f: Fam) => (f === 4 ? 'ipv4_addr' : 'ipv6_addr') as 'ipv4_addr' | 'ipv6_addr';

  const input: NftRule[] = [
    ...exemptBySource(),
    granted(4, 'return'),
    granted(6, 'return'),
    rule`udp dport { 67, 547 } return`,
    ...dnsPorts.flatMap((p) => [rule`udp dport ${int(p)} return`, rule`tcp dport ${int(p)} return`]),
    ...portalPorts.map((p) => rule`tcp dport ${int(p)} return`),
    // Without neighbour and router discovery and MLD an IPv6 client cannot even reach the portal.
    rule`icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, mld2-listener-report } return`,
    ...rejectAll(),
  ];
  const fwdUp: NftRule[] = [
    ...exemptBySource(),
    granted(4, 'goto'),
    granted(6, 'goto'),
    // The configured outside resolver, for gateways whose own DNS filter is off.
    rule`ip daddr ${setRef(dnsSet(4))} udp dport 53 return`,
    rule`ip daddr ${setRef(dnsSet(4))} tcp dport 53 return`,
    rule`ip6 daddr ${setRef(dnsSet(6))} udp dport 53 return`,
    rule`ip6 daddr ${setRef(dnsSet(6))} tcp dport 53 return`,
    ...rejectAll(),
  ];
  const pre: NftRule[] = [
    ...exemptBySource(),
    granted(4, 'return'),
    granted(6, 'return'),
    // Only web requests to the outside: the gateway's own port 80 (if anything listens there) is not the portal's.
    rule`tcp dport 80 fib daddr type != local redirect to :${http}`,
  ];
  return {
    module: PORTAL_MODULE,
    sets: [
      ...FAMS.map((f) => ({ name: authSet(f), type: ['ether_addr', addr(f)] as const, flags: ['timeout'] as const })),
      { name: EXEMPT_MAC, type: ['ether_addr'] },
      ...FAMS.map((f) => ({ name: exemptSet(f), type: [addr(f)], flags: ['interval'] as const })),
      ...FAMS.map((f) => ({ name: dnsSet(f), type: [addr(f)], flags: ['interval'] as const })),
      ...counters,
    ],
    maps: FAMS.flatMap((f) => (['down', 'up'] as Direction[]).map((d) => ({ name: quotaMap(d, f), key: [addr(f)], value: 'quota' as const, flags: ['timeout'] as const }))),
    runtimeQuotaPrefix: QUOTA_PREFIX,
    chains: [
      { name: CHAIN.pre, rules: pre },
      { name: CHAIN.fwdUp, rules: fwdUp },
      { name: CHAIN.fwdDown, rules: downloadRules() },
      { name: CHAIN.up4, rules: uploadAccounting(4) },
      { name: CHAIN.up6, rules: uploadAccounting(6) },
      { name: CHAIN.input, rules: input },
    ],
    hooks: [
      { point: 'portal-redirect', chain: 'nat_prerouting', rules: [rule`iifname ${lan} jump ${chainRef(CHAIN.pre)}`] },
      {
        point: 'portal-gate',
        chain: 'forward',
        rules: [rule`iifname ${lan} jump ${chainRef(CHAIN.fwdUp)}`, rule`oifname ${lan} jump ${chainRef(CHAIN.fwdDown)}`],
      },
      { point: 'portal-gate', chain: 'input', rules: [rule`iifname ${lan} jump ${chainRef(CHAIN.input)}`] },
    ],
  };
}
