import ipaddr from 'ipaddr.js';

/**
 * A LAN client's address as nft prints it in the shaper's sets (IPv4 dotted quad, IPv6 compressed lower
 * case), so an address from the portal or a request matches the kernel's; undefined when it is none.
 */
export function clientAddress(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length > 45) return undefined;
  if (ipaddr.IPv4.isValidFourPartDecimal(v)) return ipaddr.IPv4.parse(v).toString();
  if (!v.includes('%') && ipaddr.IPv6.isValid(v)) return ipaddr.IPv6.parse(v).toString();
  return undefined;
}
