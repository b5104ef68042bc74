import ipaddr from 'ipaddr.js';
import type { LocalHost } from '../ipc.js';
import { parseV4, parseV6 } from '../ipindex/parse.js';

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

const v6words = new Uint32Array(4);

/** An IPv4 value (unsigned 32-bit) in 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12 or 192.168/16. */
function privateV4(v: number): boolean {
  const a = v >>> 24;
  const b = (v >>> 16) & 0xff;
  return a === 0 || a === 10 || a === 127 || (a === 100 && (b & 0xc0) === 64) || (a === 169 && b === 254) || (a === 172 && (b & 0xf0) === 16) || (a === 192 && b === 168);
}

/**
 * Private, loopback, link-local, unique-local or unspecified (ipaddr.js's ranges of those names, plus carrier-grade
 * NAT): never a public name's answer (rebinding). Runs on every address of every answer, cached ones too, so it
 * parses without allocating (ipaddr.js's parse cost ~3 µs per answer).
 */
export function isPrivateAddress(ip: string): boolean {
  const v4 = parseV4(ip);
  if (v4 >= 0) return privateV4(v4);
  const kind = parseV6(ip, v6words);
  if (kind === 4) return privateV4(v6words[0]!);
  if (kind !== 6) return false;
  const [w0, w1, w2, w3] = v6words as unknown as [number, number, number, number];
  if (w0 === 0 && w1 === 0 && w2 === 0 && (w3 === 0 || w3 === 1)) return true; // :: and ::1
  return (w0 & 0xffc00000) >>> 0 === 0xfe800000 || (w0 & 0xfe000000) >>> 0 === 0xfc000000; // fe80::/10, fc00::/7
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
