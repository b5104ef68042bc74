/**
 * Random public IPv4 addresses for load tests. Seeded, so two runs (and Gatehouse vs raw nft) load the
 * very same list; unique, because a duplicate would count as "updated" and make the kernel hold fewer
 * elements than the import size.
 */

/** Ranges that are not public unicast (RFC 6890 and friends), as [first, last] uint32. */
const NOT_PUBLIC: readonly (readonly [number, number])[] = [
  cidr('0.0.0.0', 8),
  cidr('10.0.0.0', 8),
  cidr('100.64.0.0', 10),
  cidr('127.0.0.0', 8),
  cidr('169.254.0.0', 16),
  cidr('172.16.0.0', 12),
  cidr('192.0.0.0', 24),
  cidr('192.0.2.0', 24),
  cidr('192.88.99.0', 24),
  cidr('192.168.0.0', 16),
  cidr('198.18.0.0', 15),
  cidr('198.51.100.0', 24),
  cidr('203.0.113.0', 24),
  cidr('224.0.0.0', 3), // multicast, reserved and broadcast: 224.0.0.0 – 255.255.255.255
];

function toUint(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function cidr(ip: string, prefix: number): readonly [number, number] {
  const start = toUint(ip);
  return [start, start + 2 ** (32 - prefix) - 1];
}

export function uintToIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function isPublicV4(n: number): boolean {
  return !NOT_PUBLIC.some(([a, b]) => n >= a && n <= b);
}

/** mulberry32: tiny, fast, good enough to spread addresses over the space. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** `count` distinct public IPv4 addresses, the same ones for the same seed. */
export function randomPublicIPv4(count: number, seed = 1): string[] {
  const next = prng(seed);
  const seen = new Set<number>();
  const out: string[] = [];
  while (out.length < count) {
    const n = next();
    if (seen.has(n) || !isPublicV4(n)) continue;
    seen.add(n);
    out.push(uintToIp(n));
  }
  return out;
}

/** A public address guaranteed not to be in `ips` (for negative checks). */
export function absentPublicIPv4(ips: readonly string[], seed = 99): string {
  const have = new Set(ips);
  const next = prng(seed);
  for (;;) {
    const n = next();
    const ip = uintToIp(n);
    if (isPublicV4(n) && !have.has(ip)) return ip;
  }
}
