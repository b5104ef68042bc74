import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

/** An IP address or CIDR range, normalised: host bits cleared, IPv4-mapped IPv6 turned into IPv4. */
export interface Target {
  /** Canonical text: "192.0.2.1", "198.51.100.0/24", "2001:db8::1", "2001:db8::/32". Hosts carry no prefix. */
  readonly text: string;
  readonly family: Family;
  readonly prefix: number;
  readonly isHost: boolean;
  /** First and last address as big-endian bytes (4 or 16), for range comparisons in SQL and in memory. */
  readonly start: Buffer;
  readonly end: Buffer;
}

export class InvalidTargetError extends Error {
  constructor(readonly input: string, why: string) {
    super(`not an IP address or CIDR range: ${JSON.stringify(input.length > 80 ? input.slice(0, 80) + '…' : input)} (${why})`);
    this.name = 'InvalidTargetError';
  }
}

const STRICT_V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const V6_CHARS = /^[0-9a-fA-F:.]+$/;

/**
 * Parses one IP or CIDR. Rejects the lenient forms ipaddr.js would accept ("1", "0x7f.1", "010.0.0.1")
 * because a list line like that is far more likely garbage than an intended address.
 */
export function parseTarget(input: string): Target {
  const s = input.trim();
  if (s.length === 0 || s.length > 64) throw new InvalidTargetError(input, s.length === 0 ? 'empty' : 'too long');
  const slash = s.indexOf('/');
  const addrText = slash >= 0 ? s.slice(0, slash) : s;
  const prefixText = slash >= 0 ? s.slice(slash + 1) : undefined;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  if (STRICT_V4.test(addrText)) {
    // The common case of a million-line list: a plain IPv4 host is already canonical (the pattern forbids
    // leading zeros), so skip the general path.
    if (prefixText === undefined) {
      const b = Buffer.from(addrText.split('.').map(Number));
      return { text: addrText, family: 4, prefix: 32, isHost: true, start: b, end: b };
    }
    addr = ipaddr.IPv4.parse(addrText);
  } else if (addrText.includes(':') && V6_CHARS.test(addrText) && ipaddr.IPv6.isValid(addrText)) {
    const v6 = ipaddr.IPv6.parse(addrText);
    addr = v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
  } else {
    throw new InvalidTargetError(input, 'bad address');
  }
  const family: Family = addr.kind() === 'ipv4' ? 4 : 6;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) throw new InvalidTargetError(input, 'bad prefix length');
    prefix = Number(prefixText);
    // A mapped v6 address with a /96+ prefix means the same v4 range.
    if (family === 4 && addrText.includes(':')) prefix -= 96;
    if (prefix < 0 || prefix > bits) throw new InvalidTargetError(input, `prefix length must be 0-${bits}`);
  }
  const bytes = Buffer.from(addr.toByteArray());
  const start = Buffer.from(bytes);
  const end = Buffer.from(bytes);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    start[i] = bytes[i]! & mask;
    end[i] = (bytes[i]! & mask) | (~mask & 0xff);
  }
  const isHost = prefix === bits;
  const base = bytesToText(start, family);
  return { text: isHost ? base : `${base}/${prefix}`, family, prefix, isHost, start, end };
}

/** Like parseTarget but returns undefined instead of throwing; for hot loops over list lines. */
export function tryParseTarget(input: string): Target | undefined {
  try {
    return parseTarget(input);
  } catch {
    return undefined;
  }
}

export function bytesToText(bytes: Buffer, family: Family): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  return ipaddr.fromByteArray([...bytes]).toString();
}

/** True when `outer` covers every address of `inner`. */
export function covers(outer: Target, inner: Target): boolean {
  return outer.family === inner.family && outer.start.compare(inner.start) <= 0 && outer.end.compare(inner.end) >= 0;
}

/** Documentation, private, loopback and other special ranges, which a reputation list should never ban by accident. */
export function isSpecialPurpose(t: Target): boolean {
  const addr = ipaddr.fromByteArray([...t.start]);
  const range = addr.range();
  return range !== 'unicast' && range !== 'reserved';
}
