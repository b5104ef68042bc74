/** The pure half of the clients context: reading what the kernel and dnsmasq say about LAN addresses. */

/** An address seen with a MAC (lower case). */
export interface Binding {
  readonly ip: string;
  readonly mac: string;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const NO_MAC = '00:00:00:00:00:00';

function ethernetMac(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const mac = v.toLowerCase();
  return MAC.test(mac) && mac !== NO_MAC ? mac : undefined;
}

/**
 * `ip -j neigh show` output → address/MAC pairs. Entries without a link-layer address (INCOMPLETE, FAILED)
 * say nothing about a device and are skipped, as are non-Ethernet addresses and, when `interfaces` is
 * given, entries on other interfaces (the WAN's upstream router is no LAN device). Throws on text that is
 * not a JSON array, so the caller keeps what it knew.
 */
export function parseNeighbours(json: string, interfaces?: readonly string[]): Binding[] {
  const entries: unknown = JSON.parse(json);
  if (!Array.isArray(entries)) throw new Error('ip -j neigh: not a JSON array');
  const only = interfaces && interfaces.length > 0 ? new Set(interfaces) : undefined;
  const out: Binding[] = [];
  for (const e of entries as unknown[]) {
    if (typeof e !== 'object' || e === null) continue;
    const { dst, dev, lladdr } = e as { dst?: unknown; dev?: unknown; lladdr?: unknown };
    const mac = ethernetMac(lladdr);
    if (typeof dst !== 'string' || mac === undefined) continue;
    if (only && (typeof dev !== 'string' || !only.has(dev))) continue;
    out.push({ ip: dst, mac });
  }
  return out;
}

/** dnsmasq's leases file: "<expiry> <mac> <ip> <hostname> <client-id>" per line; DHCPv6 lines carry no MAC and are skipped. */
export function parseDnsmasqLeases(text: string): Map<string, { mac: string; name: string | null }> {
  const m = new Map<string, { mac: string; name: string | null }>();
  for (const line of text.split('\n')) {
    const [, rawMac, ip, host] = line.trim().split(/\s+/);
    const mac = ethernetMac(rawMac);
    if (!mac || !ip) continue;
    m.set(ip, { mac, name: host && host !== '*' ? host : null });
  }
  return m;
}

/**
 * The MAC inside an IPv6 address whose interface identifier is modified EUI-64 (…XXff:feXX…, as SLAAC
 * builds it without privacy extensions), or undefined. `addr` is canonical text.
 */
export function macFromEui64(addr: string): string | undefined {
  if (!addr.includes(':')) return undefined;
  const groups = expand(addr);
  if (!groups) return undefined;
  const iid = groups.slice(4).map((g) => g.padStart(4, '0')).join('');
  if (iid.slice(6, 10) !== 'fffe') return undefined;
  const bytes = [iid.slice(0, 2), iid.slice(2, 4), iid.slice(4, 6), iid.slice(10, 12), iid.slice(12, 14), iid.slice(14, 16)];
  bytes[0] = (parseInt(bytes[0]!, 16) ^ 0x02).toString(16).padStart(2, '0');
  return ethernetMac(bytes.join(':'));
}

/** "fd77::1:2" → its eight groups; undefined for anything with an embedded IPv4 part. */
function expand(addr: string): string[] | undefined {
  if (addr.includes('.')) return undefined;
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  const all = [...h, ...fill, ...t];
  return all.length === 8 ? all : undefined;
}
