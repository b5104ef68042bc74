import { parseTarget, tryParseTarget, type Family, type Target } from './ip.js';
import { specialReason, withinSpecial } from './special.js';
import { V4Target } from './fast-target.js';

/**
 * Why a target must not become a decision (a ban) or an allow entry, wherever it comes from: the admin,
 * a watcher's alert, an upstream CrowdSec LAPI, a list feed. Pure: the gateway's own networks are passed
 * in (the daemon reads them from its interfaces).
 */

/** The gateway as the guard sees it: read from the configured interfaces at start and now and then. */
export interface NetworkContext {
  /** Networks of the LAN interfaces (e.g. 10.77.0.0/24 on br-lan): a ban there cuts LAN clients off. */
  readonly lan: readonly InterfaceNet[];
  /** The gateway's own addresses on its LAN and WAN interfaces: a ban there cuts the gateway off. */
  readonly own: readonly InterfaceNet[];
}

export interface InterfaceNet {
  readonly target: Target;
  readonly ifname: string;
}

export const NO_NETWORKS: NetworkContext = { lan: [], own: [] };

/**
 * The broadest decision or allow entry taken without force. /8 in IPv4: real lists hold /8 to /11 blocks of
 * unallocated or hostile space (FireHOL level1 lists 102.0.0.0/9, 45.128.0.0/10), the largest single
 * allocations are /8, and anything broader (128.0.0.0/1, 0.0.0.0/0) is a mistake or an attack. /16 in
 * IPv6: RIR blocks are /12, the largest provider allocations /19 or longer; 2000::/3 is the whole internet.
 */
export const MIN_PREFIX: Readonly<Record<Family, number>> = { 4: 8, 6: 16 };

function share(t: Target): string {
  const family = `IPv${t.family}`;
  if (t.prefix === 0) return `every ${family} address`;
  if (t.prefix === 1) return `half of all ${family} addresses`;
  if (t.prefix === 2) return `a quarter of all ${family} addresses`;
  return `1/${2 ** t.prefix} of all ${family} addresses`;
}

function tooBroad(t: Target): boolean {
  return t.prefix < MIN_PREFIX[t.family];
}

function overlaps(a: Target, b: Target): boolean {
  return a.family === b.family && a.start.compare(b.end) <= 0 && a.end.compare(b.start) >= 0;
}

function covers(outer: Target, inner: Target): boolean {
  return outer.family === inner.family && outer.start.compare(inner.start) <= 0 && outer.end.compare(inner.end) >= 0;
}

/**
 * Why `t` is too broad for any decision, or undefined. For list feeds, which already leave out special
 * space and cannot know the gateway's own networks.
 */
export function broadReason(t: Target): string | undefined {
  return tooBroad(t) ? `${t.text} covers ${share(t)} (decisions are limited to /${MIN_PREFIX[t.family]} or narrower)` : undefined;
}

/**
 * Why banning `t` would hurt the network rather than protect it, or undefined when it is an ordinary
 * public address or range. The first matching reason only, in the order an admin needs to hear it.
 */
export function banRefusal(t: Target, net: NetworkContext = NO_NETWORKS): string | undefined {
  if (tooBroad(t)) {
    if (t.prefix === 0) return `${t.text} covers ${share(t)}: it would cut the LAN and this gateway off the internet`;
    return `${t.text} covers ${share(t)}: it would cut the LAN off all of them (decisions are limited to /${MIN_PREFIX[t.family]} or narrower)`;
  }
  const local = localRefusal(t, net);
  if (local) return local;
  const special = specialReason(t);
  if (special) return `${t.text} overlaps ${special}: a ban there breaks the LAN or the gateway itself`;
  return undefined;
}

/** Why `t` touches this gateway's LAN networks or own addresses, or undefined. */
export function localRefusal(t: Target, net: NetworkContext): string | undefined {
  const lan = net.lan.find((n) => overlaps(t, n.target));
  if (lan) return `${t.text} overlaps the LAN network ${lan.target.text} (${lan.ifname}): it would cut LAN clients off`;
  const own = net.own.find((o) => covers(t, o.target));
  if (own) return `${t.text} covers this gateway's own address ${own.target.text} (${own.ifname}): it would cut the gateway off`;
  return undefined;
}

/**
 * localRefusal compiled for a million-line feed: IPv4 entries are compared as numbers (the parser's
 * V4Target has them ready), so nothing is allocated per entry. Undefined when there is nothing to check.
 */
export function localChecker(net: NetworkContext): ((t: Target) => string | undefined) | undefined {
  if (net.lan.length + net.own.length === 0) return undefined;
  const v4 = [...net.lan.map((n) => ({ n, own: false })), ...net.own.map((n) => ({ n, own: true }))]
    .filter((x) => x.n.target.family === 4)
    .map((x) => ({ ...x, s: x.n.target.start.readUInt32BE(0), e: x.n.target.end.readUInt32BE(0) }));
  const has6 = [...net.lan, ...net.own].some((n) => n.target.family === 6);
  return (t) => {
    if (t.family === 6) return has6 ? localRefusal(t, net) : undefined;
    const s = t instanceof V4Target ? t.startInt : t.start.readUInt32BE(0);
    const e = t instanceof V4Target ? t.endInt : t.end.readUInt32BE(0);
    // Own addresses are hosts: covered means start <= a <= end, the same test as an overlap.
    for (const r of v4) if (s <= r.e && e >= r.s) return localRefusal(t, net);
    return undefined;
  };
}

/**
 * Why allowing `t` would switch protection off, or undefined. Only breadth counts: allowing the LAN or a
 * private range is legitimate.
 */
export function allowRefusal(t: Target): string | undefined {
  // fd00::/8 is broad but private: allowing it cannot unblock anyone on the internet.
  if (!tooBroad(t) || withinSpecial(t)) return undefined;
  if (t.prefix === 0) return `${t.text} covers ${share(t)}: allowing it would turn all protection off`;
  return `${t.text} covers ${share(t)}: allowing it would turn protection off for them (allow entries are limited to /${MIN_PREFIX[t.family]} or narrower)`;
}

/** banRefusal for a value as text; unparsable values are left to the store, which refuses them with its own message. */
export function banRefusalOf(value: string, net: NetworkContext = NO_NETWORKS): string | undefined {
  const t = tryParseTarget(value);
  return t ? banRefusal(t, net) : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Reading the context from `ip -j addr show`

interface IpAddrInfo {
  readonly family?: unknown;
  readonly local?: unknown;
  readonly prefixlen?: unknown;
}

/**
 * The guard's context from the JSON of `ip -j addr show`: LAN networks from the `lan` interfaces, own
 * addresses from `lan` and `wan` ones. Entries it cannot read are left out rather than failing the start.
 */
export function networkContextFromIpJson(json: string, lan: readonly string[], wan: readonly string[]): NetworkContext {
  const links = JSON.parse(json) as unknown;
  const lanNets: InterfaceNet[] = [];
  const own: InterfaceNet[] = [];
  if (!Array.isArray(links)) return NO_NETWORKS;
  for (const link of links as { ifname?: unknown; addr_info?: unknown }[]) {
    const ifname = typeof link?.ifname === 'string' ? link.ifname : undefined;
    if (ifname === undefined || !Array.isArray(link.addr_info)) continue;
    const isLan = lan.includes(ifname);
    if (!isLan && !wan.includes(ifname)) continue;
    for (const a of link.addr_info as IpAddrInfo[]) {
      if ((a.family !== 'inet' && a.family !== 'inet6') || typeof a.local !== 'string' || typeof a.prefixlen !== 'number') continue;
      const addr = tryParseTarget(a.local);
      if (!addr) continue;
      own.push({ target: addr, ifname });
      const net = isLan ? tryParseTarget(`${a.local}/${a.prefixlen}`) : undefined;
      // Link-local networks are special space anyway, and every interface has the same fe80::/64.
      if (net && !(net.family === 6 && covers(FE80, net))) lanNets.push({ target: net, ifname });
    }
  }
  return { lan: lanNets, own };
}

const FE80 = parseTarget('fe80::/10');
