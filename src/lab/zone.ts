import type { LabTopology } from './topology.js';

/**
 * The lab internet's DNS zone and the authoritative server's (NSD's) config. Pure text, so a unit test can
 * check it without root; lab-dns.ts writes the files and runs NSD in the inet namespace.
 *
 * The names cover what a DNS filter has to get right: a phishing name, a legitimate shop, ad and tracker
 * names with wildcards below them (so any subdomain resolves, and "blocked" can be told from "does not
 * exist"), CNAME cloaking (a first-party name that is an alias of an ad server), a name whose answer lies
 * in a range the tests list, TXT answers too big for 512-byte and for 1232-byte UDP, AAAA records, and a
 * wildcard subtree of fresh names that no cache has seen.
 */

/** Fully qualified without the trailing dot, as a client types them. */
export interface LabNames {
  /** → the phishing site. */
  readonly phishing: string;
  /** → the legitimate shop. */
  readonly legit: string;
  /** CNAME → legit. */
  readonly legitAlias: string;
  /** CNAME → an ad name (CNAME cloaking). */
  readonly cloaked: string;
  /** An ad network's domain; it and every name below it → the ad server. */
  readonly adDomain: string;
  /** A name below adDomain. */
  readonly adName: string;
  /** A tracker domain; it and every name below it → the ad server. */
  readonly trackerDomain: string;
  /** A name below trackerDomain. */
  readonly trackerName: string;
  /** → an address in badRange (not the phishing site itself). */
  readonly badRangeName: string;
  /** The range badRangeName's addresses lie in, for tests that list it. */
  readonly badRange: { readonly ipv4: string; readonly ipv6: string };
  /** TXT of ~3,000 bytes: truncated over UDP even with EDNS 1232. */
  readonly bigTxt: string;
  /** TXT of ~800 bytes: fits EDNS 1232, truncated over plain 512-byte UDP. */
  readonly midTxt: string;
  /** Every name below this one resolves (→ legit): fresh names that no cache has seen. */
  readonly freshParent: string;
}

export function labNames(topo: LabTopology): LabNames {
  const z = topo.dns.zone;
  return {
    phishing: `amazon-signin.${z}`,
    legit: `shop.${z}`,
    legitAlias: `www.shop.${z}`,
    cloaked: `metrics.shop.${z}`,
    adDomain: `adnet.${z}`,
    adName: `pixel.adnet.${z}`,
    trackerDomain: `tracker.${z}`,
    trackerName: `ads.tracker.${z}`,
    badRangeName: `cdn.badhost.${z}`,
    badRange: { ipv4: '203.0.113.64/26', ipv6: '2001:db8:66::/48' },
    bigTxt: `big.${z}`,
    midTxt: `mid.${z}`,
    freshParent: `any.${z}`,
  };
}

/** The address badRangeName resolves to: inside badRange, and not the phishing site. */
export const BAD_RANGE_MEMBER = { ipv4: '203.0.113.70', ipv6: '2001:db8:66::70' } as const;

/** Negative answers are cached this long (SOA minimum); positive ones get ZONE_TTL. */
export const ZONE_NEGATIVE_TTL = 30;
export const ZONE_TTL = 60;

/** `n` character-strings of 250 characters each, as zone-file text: about 251·n bytes on the wire. */
function txtStrings(tag: string, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`"${`${tag}${i}-`.padEnd(250, String.fromCharCode(97 + (i % 26)))}"`);
  return out.join(' ');
}

/** The zone file NSD serves. Relative names are below `<zone>.`. */
export function labZoneFile(topo: LabTopology): string {
  const z = topo.dns.zone;
  const n = labNames(topo);
  const rel = (name: string) => name.slice(0, -(z.length + 1));
  const { legit, phishing, ads } = topo.sites;
  const auth = topo.dns.authoritative;
  const both = (name: string, a: { ipv4: string; ipv6: string }) => [`${name} A ${a.ipv4}`, `${name} AAAA ${a.ipv6}`];
  return [
    `$ORIGIN ${z}.`,
    `$TTL ${ZONE_TTL}`,
    `@ SOA ns1.${z}. hostmaster.${z}. 2026120101 3600 600 86400 ${ZONE_NEGATIVE_TTL}`,
    `@ NS ns1.${z}.`,
    ...both('ns1', auth),
    ...both(rel(n.legit), legit),
    `${rel(n.legitAlias)} CNAME ${n.legit}.`,
    `${rel(n.cloaked)} CNAME ${n.adName}.`,
    ...both(rel(n.phishing), phishing),
    ...both(rel(n.adDomain), ads),
    ...both(`*.${rel(n.adDomain)}`, ads),
    ...both(rel(n.trackerDomain), ads),
    ...both(`*.${rel(n.trackerDomain)}`, ads),
    ...both(rel(n.badRangeName), BAD_RANGE_MEMBER),
    `${rel(n.bigTxt)} TXT ${txtStrings('big', 12)}`,
    `${rel(n.midTxt)} TXT ${txtStrings('mid', 3)}`,
    ...both(`*.${rel(n.freshParent)}`, legit),
    '',
  ].join('\n');
}

export interface NsdPaths {
  /** Holds the config, the zone file, NSD's state files and its log. */
  readonly dir: string;
}

export const NSD_CONF = 'nsd.conf';
export const ZONE_FILE = 'lab.zone';

/**
 * NSD's config: listens on the authoritative and the "public resolver" addresses, runs as root in the
 * namespace without chroot (the state is a private folder), no database file, no remote control, and no
 * response-rate limiting (a test's burst of queries must not be throttled).
 */
export function nsdConfig(topo: LabTopology, paths: NsdPaths): string {
  const d = paths.dir;
  const { authoritative: a, publicResolver: p } = topo.dns;
  return [
    'server:',
    ...[a.ipv4, a.ipv6, p.ipv4, p.ipv6].map((ip) => `  ip-address: ${ip}`),
    `  port: ${topo.dns.port}`,
    '  username: ""',
    '  chroot: ""',
    `  zonesdir: "${d}"`,
    '  database: ""',
    `  zonelistfile: "${d}/zone.list"`,
    `  xfrdfile: "${d}/xfrd.state"`,
    `  xfrdir: "${d}"`,
    `  pidfile: "${d}/nsd.pid"`,
    `  logfile: "${d}/nsd.log"`,
    '  server-count: 1',
    '  reuseport: no',
    '  verbosity: 1',
    '  hide-version: yes',
    '  rrl-ratelimit: 0',
    'remote-control:',
    '  control-enable: no',
    'zone:',
    `  name: "${topo.dns.zone}"`,
    `  zonefile: "${ZONE_FILE}"`,
    '',
  ].join('\n');
}

/** What `ip netns exec <client>` shows a client as /etc/resolv.conf: the gateway, i.e. Gatehouse. */
export function clientResolvConf(topo: LabTopology): string {
  return [
    '# gatehouse lab: this client resolves through the gateway (Gatehouse)',
    `nameserver ${topo.gateway.lanIpv4}`,
    `nameserver ${topo.gateway.lanIpv6}`,
    'options timeout:2 attempts:2',
    '',
  ].join('\n');
}
