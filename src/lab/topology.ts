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

export interface LabClient {
  readonly name: 'c1' | 'c2';
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

export interface LabTopology {
  readonly prefix: string;
  readonly namespaces: {
    readonly gw: string;
    readonly c1: string;
    readonly c2: string;
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
  readonly clients: readonly [LabClient, LabClient];
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

export function labTopology(prefix: string = DEFAULT_PREFIX): LabTopology {
  validatePrefix(prefix);
  const ns = {
    gw: `${prefix}-gw`,
    c1: `${prefix}-c1`,
    c2: `${prefix}-c2`,
    inet: `${prefix}-inet`,
  };
  const clients: [LabClient, LabClient] = [
    { name: 'c1', ns: ns.c1, ifname: 'eth0', mac: '02:77:00:00:00:10', ipv4: '10.77.0.10', ipv6: 'fd77::10', gatewayPort: 'lan-c1' },
    { name: 'c2', ns: ns.c2, ifname: 'eth0', mac: '02:77:00:00:00:11', ipv4: '10.77.0.11', ipv6: 'fd77::11', gatewayPort: 'lan-c2' },
  ];
  const topo: LabTopology = {
    prefix,
    namespaces: { ...ns, all: [ns.gw, ns.c1, ns.c2, ns.inet] },
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
    ...topo.clients.map((c) => c.ifname), topo.inet.uplink,
  ];
}

/** The interfaces expected in each namespace (besides `lo`). */
export function interfacesByNamespace(topo: LabTopology): Record<string, readonly string[]> {
  return {
    [topo.namespaces.gw]: [topo.gateway.lanBridge, ...topo.gateway.lanPorts, topo.gateway.wanInterface],
    [topo.namespaces.c1]: [topo.clients[0].ifname],
    [topo.namespaces.c2]: [topo.clients[1].ifname],
    [topo.namespaces.inet]: [topo.inet.uplink],
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
