import ipaddr from 'ipaddr.js';
import type { LocalHost } from '../ipc.js';

/* Names the resolver answers itself: the DoH canary, LAN devices by name and their reverse (PTR) names. */

/** Firefox asks this before turning on its own DNS-over-HTTPS: NXDOMAIN keeps it on the filtered resolver. */
export const DOH_CANARY = 'use-application-dns.net';

/** The address a reverse name stands for ("4.3.2.1.in-addr.arpa" → "1.2.3.4"), undefined for others. */
export function reverseToIp(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
    return parts.reverse().join('.');
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || nibbles.some((n) => !/^[0-9a-f]$/.test(n))) return undefined;
    const hex = nibbles.reverse().join('');
    const groups = hex.match(/.{4}/g) ?? [];
    return ipaddr.parse(groups.join(':')).toString();
  }
  return undefined;
}

/** Private, loopback, link-local, unique-local or unspecified: never a public name's answer (rebinding). */
export function isPrivateAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  let a = ipaddr.parse(ip);
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  const r = a.range();
  return r === 'private' || r === 'loopback' || r === 'linkLocal' || r === 'uniqueLocal' || r === 'unspecified' || r === 'carrierGradeNat';
}

export class LocalNames {
  private byName = new Map<string, string[]>();
  private byIp = new Map<string, string>();

  constructor(readonly domain: string) {}

  load(hosts: readonly LocalHost[]): void {
    this.byName = new Map();
    this.byIp = new Map();
    for (const h of hosts) {
      this.byName.set(h.name, [...h.ips]);
      for (const ip of h.ips) if (!this.byIp.has(ip)) this.byIp.set(ip, h.name);
    }
  }

  /** The addresses of a LAN name; undefined when the name is not ours to answer. [] = ours but unknown (NXDOMAIN). */
  addresses(name: string): string[] | undefined {
    const known = this.byName.get(name);
    if (known) return known;
    return name === this.domain || name.endsWith('.' + this.domain) ? [] : undefined;
  }

  /** PTR: the LAN name of an address; '' when the address is private but unnamed (answered NXDOMAIN here, never asked upstream). */
  ptr(name: string): string | undefined {
    const ip = reverseToIp(name);
    if (ip === undefined) return undefined;
    const n = this.byIp.get(ip);
    if (n) return n;
    return isPrivateAddress(ip) ? '' : undefined;
  }
}
