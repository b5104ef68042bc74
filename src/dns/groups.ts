import { parseMac } from '../config/index.js';
import { tryParseTarget } from '../net/ip.js';
import type { LanDevice } from '../clients/index.js';
import type { DnsConfig } from './config.js';
import type { GroupTable, LocalHost } from './ipc.js';

/*
 * Which lists apply to which client, as masks (bit i = list id i): pure, from the config's groups, the
 * opt-outs in the store and the LAN devices the clients context knows (a group may name a client by MAC
 * or device name; its addresses are looked up here, the workers only see addresses).
 */

/** List ids: blocklists first, then allowlists; the config's own `block:`/`allow:` rules take the last two bits. */
export const INLINE_BLOCK_ID = 30;
export const INLINE_ALLOW_ID = 31;
export const OPTOUT_GROUP = 'optout';

export interface ListLayout {
  readonly names: string[];
  readonly blockIds: ReadonlyMap<string, number>;
  readonly allMask: number;
  readonly allowMask: number;
  readonly blockMask: number;
}

export function listLayout(c: DnsConfig): ListLayout {
  const names: string[] = new Array<string>(32).fill('');
  const blockIds = new Map<string, number>();
  let blockMask = 1 << INLINE_BLOCK_ID;
  let allowMask = 1 << INLINE_ALLOW_ID;
  c.blocklists.forEach((l, i) => {
    names[i] = l.name;
    blockIds.set(l.name, i);
    blockMask |= 1 << i;
  });
  c.allowlists.forEach((l, j) => {
    const id = c.blocklists.length + j;
    names[id] = l.name;
    allowMask |= 1 << id;
  });
  names[INLINE_BLOCK_ID] = 'dns.block';
  names[INLINE_ALLOW_ID] = 'dns.allow';
  return { names, blockIds, allMask: blockMask | allowMask, allowMask, blockMask };
}

/** The addresses a client entry stands for: itself (IP/CIDR), or a device's by MAC or name. */
export function addressesOf(entry: string, devices: readonly LanDevice[]): { hosts: string[]; ranges: string[] } {
  const t = tryParseTarget(entry);
  if (t) return t.isHost ? { hosts: [t.text], ranges: [] } : { hosts: [], ranges: [t.text] };
  let mac: string | undefined;
  try {
    mac = parseMac(entry);
  } catch {
    mac = undefined;
  }
  const lower = entry.toLowerCase();
  const matches = devices.filter((d) => (mac ? d.mac === mac : d.name?.toLowerCase() === lower));
  return { hosts: matches.flatMap((d) => [...d.ipv4, ...d.ipv6]), ranges: [] };
}

export function buildGroupTable(c: DnsConfig, layout: ListLayout, optout: readonly string[], devices: readonly LanDevice[]): GroupTable {
  const clients = new Map<string, readonly [string, string, number]>();
  const ranges: (readonly [string, string, number])[] = [];
  const put = (entry: string, group: string, mask: number, override: boolean) => {
    const a = addressesOf(entry, devices);
    for (const h of a.hosts) if (override || !clients.has(h)) clients.set(h, [h, group, mask]);
    for (const r of a.ranges) ranges.push([r, group, mask]);
  };
  // Opt-outs first and overriding: a client that opted out is out whatever group lists it.
  for (const o of optout) put(o, OPTOUT_GROUP, layout.allowMask, true);
  for (const g of c.groups) {
    let mask = layout.allowMask | (1 << INLINE_BLOCK_ID);
    if (g.blocklists === undefined) mask |= layout.blockMask;
    else for (const n of g.blocklists) mask |= 1 << (layout.blockIds.get(n) ?? INLINE_BLOCK_ID);
    for (const entry of g.clients) put(entry, g.name, mask, false);
  }
  const optRanges = ranges.filter((r) => r[1] === OPTOUT_GROUP);
  const otherRanges = ranges.filter((r) => r[1] !== OPTOUT_GROUP);
  const byPrefix = (a: readonly [string, string, number], b: readonly [string, string, number]) => (tryParseTarget(b[0])?.prefix ?? 0) - (tryParseTarget(a[0])?.prefix ?? 0);
  return { defaultGroup: 'default', defaultMask: layout.allMask, clients: [...clients.values()], ranges: [...optRanges.sort(byPrefix), ...otherRanges.sort(byPrefix)] };
}

/** A device name as a DNS label: "Anna's iPhone" → "anna-s-iphone"; undefined when nothing is left. */
export function dnsLabel(name: string): string | undefined {
  const l = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  return l.length > 0 ? l : undefined;
}

/** LAN devices by name under the local domain, with every address they showed. */
export function localHosts(devices: readonly LanDevice[], domain: string): LocalHost[] {
  const out = new Map<string, string[]>();
  for (const d of devices) {
    const label = d.name ? dnsLabel(d.name) : undefined;
    if (!label) continue;
    const name = `${label}.${domain}`;
    out.set(name, [...(out.get(name) ?? []), ...d.ipv4, ...d.ipv6]);
  }
  return [...out].map(([name, ips]) => ({ name, ips }));
}
