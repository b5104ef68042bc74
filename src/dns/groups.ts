import { parseMac } from '../config/index.js';
import { covers, tryParseTarget } from '../net/ip.js';
import type { LanDevice } from '../clients/index.js';
import type { DnsConfig } from './config.js';
import type { ClientTag, GroupTable, LocalHost } from './ipc.js';
import { assignListIds, groupMasks, problemKey, type ListMask } from './lists/index.js';

/*
 * Which lists apply to which client, as masks (bit i = list id i): pure, from the config's groups, the
 * opt-outs in the store and the LAN devices the clients context knows (a group may name a client by MAC
 * or device name; its addresses are looked up here, the workers only see addresses).
 */

export const OPTOUT_GROUP = 'optout';

/** Each group's mask (h2's policy: default = every list; optout = security blocklists + allowlists), and list names by id. */
export function listLayout(c: DnsConfig): { readonly names: string[]; readonly masks: ReadonlyMap<string, ListMask> } {
  const ids = assignListIds(c.blocklists, c.allowlists);
  if (!ids.ok) throw new Error(ids.problems.map((p) => `${problemKey(p)}: ${p.message}`).join('; '));
  const all = c.blocklists.map((b) => b.name);
  const masks = groupMasks(ids.lists, c.groups.map((g) => ({ name: g.name, blocklists: g.blocklists ?? all })));
  if (!masks.ok) throw new Error(masks.problems.map((p) => `${problemKey(p)}: ${p.message}`).join('; '));
  const names = new Array<string>(32).fill('');
  for (const l of ids.lists) names[l.id] = l.name;
  return { names, masks: masks.masks };
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

export function buildGroupTable(c: Pick<DnsConfig, 'groups'>, layout: { readonly masks: ReadonlyMap<string, ListMask> }, optout: readonly string[], devices: readonly LanDevice[]): GroupTable {
  const clients = new Map<string, readonly [string, string, number]>();
  const ranges: (readonly [string, string, number])[] = [];
  const put = (entry: string, group: string, mask: number, override: boolean) => {
    const a = addressesOf(entry, devices);
    for (const h of a.hosts) if (override || !clients.has(h)) clients.set(h, [h, group, mask]);
    for (const r of a.ranges) ranges.push([r, group, mask]);
  };
  // Opt-outs first and overriding: a client that opted out is out whatever group lists it.
  const maskOf = (g: string) => layout.masks.get(g) ?? 0xffffffff;
  for (const o of optout) put(o, OPTOUT_GROUP, maskOf(OPTOUT_GROUP), true);
  for (const g of c.groups) for (const entry of g.clients) put(entry, g.name, maskOf(g.name), false);
  const optRanges = ranges.filter((r) => r[1] === OPTOUT_GROUP);
  const otherRanges = ranges.filter((r) => r[1] !== OPTOUT_GROUP);
  const byPrefix = (a: readonly [string, string, number], b: readonly [string, string, number]) => (tryParseTarget(b[0])?.prefix ?? 0) - (tryParseTarget(a[0])?.prefix ?? 0);
  return { defaultGroup: 'default', defaultMask: maskOf('default'), clients: [...clients.values()], ranges: [...optRanges.sort(byPrefix), ...otherRanges.sort(byPrefix)] };
}

/** The group a query from `ip` gets, as a worker picks it: the exact address, else the narrowest range, else the default. */
export function groupOfAddress(t: GroupTable, ip: string): string {
  const exact = t.clients.find((c) => c[0] === ip);
  if (exact) return exact[1];
  const target = tryParseTarget(ip);
  const covering = (r: readonly [string, string, number]) => {
    const outer = tryParseTarget(r[0]);
    return target !== undefined && outer !== undefined && covers(outer, target);
  };
  return t.ranges.find(covering)?.[1] ?? t.defaultGroup;
}

/**
 * Each device's DNS group by MAC (the dashboard's Clients page), from the config's groups and the opt-outs
 * as the workers get them: the group of its first address in one (IPv4 first), else the default.
 */
export function deviceGroups(c: Pick<DnsConfig, 'groups'>, optout: readonly string[], devices: readonly LanDevice[]): Map<string, string> {
  const t = buildGroupTable(c, { masks: new Map() }, optout, devices);
  return new Map(
    devices.map((d) => {
      const groups = [...d.ipv4, ...d.ipv6].map((ip) => groupOfAddress(t, ip));
      return [d.mac, groups.find((g) => g !== t.defaultGroup) ?? t.defaultGroup];
    }),
  );
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

/** Every LAN address with its device's MAC and name, for the query log's client columns. */
export function clientTags(devices: readonly LanDevice[]): ClientTag[] {
  return devices.flatMap((d) => [...d.ipv4, ...d.ipv6].map((ip) => [ip, d.mac, d.name] as const));
}
