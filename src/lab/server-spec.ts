import { z } from 'zod';
import type { LabTopology } from './topology.js';

/** What one lab server process listens on. Passed as JSON on its command line, so it is validated there. */

export type SiteName = 'legit' | 'phishing' | 'ads';

const host = z.string().min(1).max(64);
// 0 = any free port (tests on loopback).
const port = z.number().int().min(0).max(65535);

export const listenerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('http'), site: z.enum(['legit', 'phishing', 'ads']), host, port, feedsDir: z.string().min(1).optional() }),
  z.object({ kind: z.literal('banner'), host, port, text: z.string().min(1).max(255) }),
  z.object({ kind: z.literal('udp-echo'), host, port }),
]);

export const serverSpecSchema = z.object({
  /** Lab prefix: also written on the command line so teardown can recognise its own processes. */
  lab: z.string().min(1),
  name: z.string().regex(/^[a-z0-9-]{1,32}$/),
  /** Written (JSON) once every listener is bound; the lab waits for it. */
  readyFile: z.string().min(1),
  listeners: z.array(listenerSchema).min(1),
});

export type Listener = z.infer<typeof listenerSchema>;
export type ServerSpec = z.infer<typeof serverSpecSchema>;

/** A lab server process: which namespace it runs in and what it serves. */
export interface LabServer {
  readonly ns: string;
  readonly spec: ServerSpec;
}

export interface LabServerPaths {
  readonly stateDir: string;
  /** Served under /feeds/ by the legit site; absent ⇒ /feeds/ answers 404. */
  readonly feedsDir?: string;
}

/** The two Node processes a lab runs: the internet's web servers (and the attacker's "ssh" banner) and client1's "ssh" banner. */
export function labServers(topo: LabTopology, paths: LabServerPaths): LabServer[] {
  const { legit, phishing, ads } = topo.sites;
  const inetListeners: Listener[] = [];
  for (const h of [legit.ipv4, legit.ipv6]) {
    inetListeners.push({ kind: 'http', site: 'legit', host: h, port: legit.httpPort, ...(paths.feedsDir ? { feedsDir: paths.feedsDir } : {}) });
    inetListeners.push({ kind: 'udp-echo', host: h, port: topo.ports.udpEcho });
  }
  for (const h of [phishing.ipv4, phishing.ipv6]) {
    inetListeners.push({ kind: 'http', site: 'phishing', host: h, port: phishing.httpPort });
  }
  for (const h of [ads.ipv4, ads.ipv6]) {
    inetListeners.push({ kind: 'http', site: 'ads', host: h, port: ads.httpPort });
  }
  // The attacker's host answers too, so a test can tell "the LAN still reaches it" from "nothing listens".
  for (const h of [topo.attacker.ipv4, topo.attacker.ipv6]) {
    inetListeners.push({ kind: 'banner', host: h, port: topo.ports.banner, text: bannerText(topo, 'attacker') });
  }
  // A stand-in for DNS over TLS on the outside resolver (a banner, no TLS): redirect_lan refuses 853 from the LAN.
  for (const h of [topo.dns.publicResolver.ipv4, topo.dns.publicResolver.ipv6]) {
    inetListeners.push({ kind: 'banner', host: h, port: topo.ports.dot, text: bannerText(topo, 'dot') });
  }
  const c1 = topo.clients[0];
  const c1Listeners: Listener[] = [];
  for (const h of [c1.ipv4, c1.ipv6]) {
    c1Listeners.push({ kind: 'banner', host: h, port: topo.ports.banner, text: bannerText(topo, 'c1') });
    c1Listeners.push({ kind: 'udp-echo', host: h, port: topo.ports.udpEcho });
  }
  return [
    { ns: topo.namespaces.inet, spec: { lab: topo.prefix, name: 'inet-servers', readyFile: `${paths.stateDir}/inet-servers.ready`, listeners: inetListeners } },
    { ns: c1.ns, spec: { lab: topo.prefix, name: 'c1-banner', readyFile: `${paths.stateDir}/c1-banner.ready`, listeners: c1Listeners } },
  ];
}

export function bannerText(topo: LabTopology, host: 'c1' | 'c2' | 'attacker' | 'dot'): string {
  return `SSH-2.0-GatehouseLab_${topo.prefix}_${host}`;
}
