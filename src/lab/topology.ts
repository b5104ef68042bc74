/**
 * The lab's shape, computed from a short prefix. Pure: no I/O, so the plan can be checked without root.
 *
 *   <p>-c1 (eth0) ─┐                                      <p>-inet
 *                  ├─ br-lan ── <p>-gw ── wan0 ═══ up0 ── lo (legit, phishing, ads, attacker, DNS addresses)
 *   <p>-c2 (eth0) ─┘   (lan-c1, lan-c2 are the bridge ports)
 *
 * Every address lives in documentation / private space and the "internet" namespace has no default
 * route, so nothing built from this can reach a real network.
 */

export const DEFAULT_PREFIX = 'gh';
export const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,5}$/;
/** Linux IFNAMSIZ minus the terminating NUL. */
export const MAX_IFNAME = 15;

/** More would run out of the MAC/address pattern below and is far beyond what 2 shared vCPUs can drive. */
export const MAX_CLIENTS = 32;

export interface LabClient {
  readonly name: `c${number}`;
  readonly ns: string;
  readonly ifname: string;
  /** Fixed so Gatehouse's client identification (MAC) is predictable in tests. */
  readonly mac: string;
  readonly ipv4: string;
  readonly ipv6: string;
  /** The bridge port in the gateway namespace this client is plugged into. */
  readonly gatewayPort: string;
}

export interface LabSite {
  readonly ipv4: string;
  readonly ipv6: string;
  readonly httpPort: number;
}

export interface LabAddressPair {
  readonly ipv4: string;
  readonly ipv6: string;
}

export interface LabDns {
  /** The zone the lab's internet serves (names below it: see zone.ts). */
  readonly zone: string;
  /** The zone's authoritative server: what a lab gateway's resolver forwards to. */
  readonly authoritative: LabAddressPair;
  /**
   * An outside "public resolver" a device may have hard-coded (like 8.8.8.8): the same server, so it
   * answers every lab name unfiltered; the redirect_lan test asks it directly.
   */
  readonly publicResolver: LabAddressPair;
  readonly port: number;
}

export interface LabPortForward {
  readonly protocol: 'tcp';
  readonly wanAddress: string;
  readonly wanPort: number;
  readonly toAddress: string;
  readonly toPort: number;
}

/** The "ISP link" between the gateway and the lab internet, in bits per second (see bottleneck.ts). */
export interface LabBottleneck {
  readonly downBps: number;
  readonly upBps: number;
  /** The modem's buffer, in milliseconds at the link rate: big, as in real modems (that is what bufferbloat is). */
  readonly bufferMs: number;
  /** In the inet namespace: upload arrives on `up0` and is redirected here, where its HTB queue lives. */
  readonly ifb: string;
}

export interface LabBottleneckOption {
  /** '50mbit', '10mbit', '512kbit' or bits per second. */
  readonly down: string | number;
  readonly up: string | number;
  /** Default 200 ms. */
  readonly bufferMs?: number;
}

export interface LabShapeOptions {
  /** Clients c1..cN, default 2 (the shape every existing test uses). */
  readonly clients?: number;
  /** An HTB-limited ISP link in the inet namespace; default none (the veth runs at memory speed). */
  readonly bottleneck?: LabBottleneckOption;
}

export interface LabTopology {
  readonly prefix: string;
  readonly namespaces: {
    readonly gw: string;
    readonly c1: string;
    readonly c2: string;
    /** Every client namespace, c1..cN. */
    readonly clients: readonly string[];
    readonly inet: string;
    /** In creation order. */
    readonly all: readonly string[];
  };
  readonly gateway: {
    readonly ns: string;
    /** What Gatehouse's config calls the LAN side: routed traffic enters/leaves via the bridge. */
    readonly lanInterfaces: readonly string[];
    readonly wanInterface: string;
    readonly lanBridge: string;
    readonly lanBridgeMac: string;
    readonly lanPorts: readonly string[];
    readonly lanIpv4: string;
    readonly lanIpv6: string;
    readonly wanIpv4: string;
    readonly wanIpv6: string;
    readonly wanMac: string;
  };
  readonly clients: readonly [LabClient, LabClient, ...LabClient[]];
  readonly bottleneck?: LabBottleneck;
  /** iperf3 servers (labUp `iperf`): one per port from basePort, on the legit site's address. */
  readonly iperf: { readonly ipv4: string; readonly basePort: number };
  readonly inet: {
    readonly ns: string;
    readonly uplink: string;
    readonly uplinkMac: string;
    readonly routerIpv4: string;
    readonly routerIpv6: string;
    /** Holds the server and attacker addresses: `lo`, because this kernel has no dummy interfaces. */
    readonly serverInterface: string;
  };
  readonly sites: {
    readonly legit: LabSite;
    readonly phishing: LabSite;
    /** An ad server: where the zone's ad and tracker names point. */
    readonly ads: LabSite;
  };
  /** The internet's DNS: one authoritative server (NSD) for the zone, on two pairs of addresses. */
  readonly dns: LabDns;
  /** Source addresses for "attacks" started from the inet namespace towards the gateway. */
  readonly attacker: { readonly ipv4: string; readonly ipv6: string };
  readonly portForward: LabPortForward;
  readonly networks: {
    readonly lan4: string;
    readonly lan6: string;
    readonly wan4: string;
    readonly wan6: string;
  };
  /** The nft table the lab itself owns inside the gateway namespace (NAT and port-forward only). */
  readonly natTable: { readonly family: 'inet'; readonly name: string };
  /** Default place for PID files, logs and the feeds folder. */
  readonly stateDir: string;
  /** Every prefix a lab routing table may legitimately contain (plus default routes via a lab router). */
  readonly labPrefixes: readonly string[];
  /** Ports served in the inet namespace and on client1 (dot: a banner on the public resolver's DNS-over-TLS port). */
  readonly ports: { readonly http: number; readonly banner: number; readonly udpEcho: number; readonly dot: number };
}

export class InvalidLabPrefixError extends Error {
  constructor(readonly prefix: string) {
    super(`invalid lab prefix ${JSON.stringify(prefix)}: must match ${PREFIX_PATTERN} (1–6 chars, lower-case letter first)`);
    this.name = 'InvalidLabPrefixError';
  }
}

export function validatePrefix(prefix: string): string {
  if (!PREFIX_PATTERN.test(prefix)) throw new InvalidLabPrefixError(prefix);
  return prefix;
}

export const STATE_ROOT = '/run/gatehouse-lab';

/** Client i (1-based): c1 = 10.77.0.10 / fd77::10 / …:00:10 as always, then .11, .12 … */
function labClient(prefix: string, i: number): LabClient {
  const host = 9 + i;
  return {
    name: `c${i}`,
    ns: `${prefix}-c${i}`,
    ifname: 'eth0',
    mac: `02:77:00:00:00:${host.toString().padStart(2, '0')}`,
    ipv4: `10.77.0.${host}`,
    ipv6: `fd77::${host}`,
    gatewayPort: `lan-c${i}`,
  };
}

const LAB_RATE = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)$/;
const RATE_FACTOR: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };

/** '50mbit' → 50_000_000 (tc's units, decimal). The lab stays below config/ in the layers, hence its own parser. */
export function parseLabRate(rate: string | number): number {
  const bps = typeof rate === 'number' ? rate : (() => {
    const m = LAB_RATE.exec(rate.trim().toLowerCase());
    if (!m) throw new Error(`invalid lab rate ${JSON.stringify(rate)}: use e.g. "50mbit", "512kbit"`);
    return Number(m[1]) * RATE_FACTOR[m[2]!]!;
  })();
  if (!Number.isFinite(bps) || bps < 8_000 || bps > 10e9) throw new Error(`lab rate out of range (8kbit..10gbit): ${rate}`);
  return Math.round(bps);
}

function labBottleneck(opt: LabBottleneckOption): LabBottleneck {
  const bufferMs = opt.bufferMs ?? 200;
  if (!Number.isInteger(bufferMs) || bufferMs < 1 || bufferMs > 5000) throw new Error(`lab bottleneck bufferMs must be 1..5000: ${bufferMs}`);
  return { downBps: parseLabRate(opt.down), upBps: parseLabRate(opt.up), bufferMs, ifb: 'isp-up' };
}

export function labTopology(prefix: string = DEFAULT_PREFIX, shape: LabShapeOptions = {}): LabTopology {
  validatePrefix(prefix);
  const count = shape.clients ?? 2;
  if (!Number.isInteger(count) || count < 2 || count > MAX_CLIENTS) {
    throw new Error(`lab clients must be an integer 2..${MAX_CLIENTS}: ${count}`);
  }
  const clients = [labClient(prefix, 1), labClient(prefix, 2), ...Array.from({ length: count - 2 }, (_, i) => labClient(prefix, i + 3))] as const;
  const ns = {
    gw: `${prefix}-gw`,
    c1: clients[0].ns,
    c2: clients[1].ns,
    clients: clients.map((c) => c.ns),
    inet: `${prefix}-inet`,
  };
  const topo: LabTopology = {
    prefix,
    namespaces: { ...ns, all: [ns.gw, ...ns.clients, ns.inet] },
    gateway: {
      ns: ns.gw,
      lanInterfaces: ['br-lan'],
      wanInterface: 'wan0',
      lanBridge: 'br-lan',
      lanBridgeMac: '02:77:00:00:00:01',
      lanPorts: clients.map((c) => c.gatewayPort),
      lanIpv4: '10.77.0.1',
      lanIpv6: 'fd77::1',
      wanIpv4: '192.0.2.2',
      wanIpv6: '2001:db8:ffff::2',
      wanMac: '02:77:00:00:01:02',
    },
    clients,
    ...(shape.bottleneck ? { bottleneck: labBottleneck(shape.bottleneck) } : {}),
    iperf: { ipv4: '198.51.100.10', basePort: 5201 },
    inet: {
      ns: ns.inet,
      uplink: 'up0',
      uplinkMac: '02:77:00:00:01:01',
      routerIpv4: '192.0.2.1',
      routerIpv6: '2001:db8:ffff::1',
      serverInterface: 'lo',
    },
    sites: {
      legit: { ipv4: '198.51.100.10', ipv6: '2001:db8:10::10', httpPort: 80 },
      phishing: { ipv4: '203.0.113.66', ipv6: '2001:db8:66::66', httpPort: 80 },
      ads: { ipv4: '198.51.100.20', ipv6: '2001:db8:20::20', httpPort: 80 },
    },
    dns: {
      zone: 'example',
      authoritative: { ipv4: '198.51.100.53', ipv6: '2001:db8:53::53' },
      publicResolver: { ipv4: '203.0.113.53', ipv6: '2001:db8:853::53' },
      port: 53,
    },
    attacker: { ipv4: '198.51.100.77', ipv6: '2001:db8:77::77' },
    portForward: { protocol: 'tcp', wanAddress: '192.0.2.2', wanPort: 2222, toAddress: clients[0].ipv4, toPort: 22 },
    networks: { lan4: '10.77.0.0/24', lan6: 'fd77::/64', wan4: '192.0.2.0/24', wan6: '2001:db8:ffff::/64' },
    natTable: { family: 'inet', name: `${prefix}lab_nat` },
    stateDir: `${STATE_ROOT}/${prefix}`,
    labPrefixes: [
      '10.77.0.0/24', 'fd77::/64', '192.0.2.0/24', '2001:db8:ffff::/64',
      '198.51.100.10', '203.0.113.66', '198.51.100.77', '198.51.100.20', '198.51.100.53', '203.0.113.53',
      '2001:db8:10::10', '2001:db8:66::66', '2001:db8:77::77', '2001:db8:20::20', '2001:db8:53::53', '2001:db8:853::53',
      'fe80::/64', 'ff00::/8',
    ],
    ports: { http: 80, banner: 22, udpEcho: 7, dot: 853 },
  };
  for (const name of allInterfaceNames(topo)) {
    if (name.length > MAX_IFNAME) throw new Error(`lab interface name too long: ${name}`);
  }
  return topo;
}

/** Interfaces the lab creates (names are per namespace, so they repeat across namespaces). */
export function allInterfaceNames(topo: LabTopology): string[] {
  return [
    topo.gateway.lanBridge, ...topo.gateway.lanPorts, topo.gateway.wanInterface,
    ...topo.clients.map((c) => c.ifname), topo.inet.uplink, ...(topo.bottleneck ? [topo.bottleneck.ifb] : []),
  ];
}

/** The interfaces expected in each namespace (besides `lo`). */
export function interfacesByNamespace(topo: LabTopology): Record<string, readonly string[]> {
  return {
    [topo.namespaces.gw]: [topo.gateway.lanBridge, ...topo.gateway.lanPorts, topo.gateway.wanInterface],
    ...Object.fromEntries(topo.clients.map((c) => [c.ns, [c.ifname]])),
    [topo.namespaces.inet]: [topo.inet.uplink, ...(topo.bottleneck ? [topo.bottleneck.ifb] : [])],
  };
}

/** Convenience for the lead: the interface section of a Gatehouse config for this lab. */
export function gatehouseInterfaces(topo: LabTopology): { lan: readonly string[]; wan: string } {
  return { lan: topo.gateway.lanInterfaces, wan: topo.gateway.wanInterface };
}

/** `http://198.51.100.10/` or `http://[2001:db8:10::10]/` — brackets for v6, port omitted when 80. */
export function siteUrl(site: LabSite, family: 4 | 6, path = '/'): string {
  const host = family === 4 ? site.ipv4 : `[${site.ipv6}]`;
  const port = site.httpPort === 80 ? '' : `:${site.httpPort}`;
  return `http://${host}${port}${path.startsWith('/') ? path : `/${path}`}`;
}

/** Every address the inet namespace holds on its server interface, v4 then v6. */
export function inetServerAddresses(topo: LabTopology): { readonly ipv4: readonly string[]; readonly ipv6: readonly string[] } {
  const pairs: LabAddressPair[] = [topo.sites.legit, topo.sites.phishing, topo.attacker, topo.sites.ads, topo.dns.authoritative, topo.dns.publicResolver];
  return { ipv4: pairs.map((p) => p.ipv4), ipv6: pairs.map((p) => p.ipv6) };
}

/** Where Gatehouse (running in the gw namespace) fetches a feed file served by the lab. */
export function feedUrl(topo: LabTopology, fileName: string, family: 4 | 6 = 4): string {
  return siteUrl(topo.sites.legit, family, `/feeds/${encodeURIComponent(fileName)}`);
}
