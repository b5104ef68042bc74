import { int, ifnames, rule, type KernelFragment, type NftRule } from '../firewall/index.js';

/**
 * `dns.redirect_lan`: the DNS module's part of the kernel table. LAN clients' DNS (udp and tcp 53) to any
 * resolver — a device with a hard-coded 8.8.8.8 included — is redirected to Gatehouse's own listener, so
 * the filter cannot be side-stepped by changing the DNS server; DNS-over-TLS/QUIC (853) to outside is
 * refused, because it cannot be redirected (the client checks the server's certificate).
 *
 * Pure: the module hands the result to the kernel table (composeTable checks it again).
 */

export const DNS_MODULE_NAME = 'dns';

export interface RedirectListen {
  /** Literal address Gatehouse listens on ('0.0.0.0' / '::' for every address). */
  readonly host: string;
  readonly port: number;
}

export interface RedirectOptions {
  /** `dns.redirect_lan`. */
  readonly enabled: boolean;
  /** `interfaces.lan`: only traffic entering from these is redirected. */
  readonly lanInterfaces: readonly string[];
  /** `dns.listen`, parsed. */
  readonly listen: readonly RedirectListen[];
}

export class RedirectConfigError extends Error {
  override name = 'RedirectConfigError';
}

const isLoopback = (host: string): boolean => host === '::1' || /^127\./.test(host);
const familyOf = (host: string): 4 | 6 => (host.includes(':') ? 6 : 4);

/**
 * The port to redirect one family's queries to. `redirect` rewrites the destination to the LAN interface's
 * own address, so a listener there (or on every address) is needed; a loopback-only listener cannot be
 * reached that way.
 */
export function redirectPort(listen: readonly RedirectListen[], family: 4 | 6): number | undefined {
  return listen.find((l) => familyOf(l.host) === family && !isLoopback(l.host))?.port;
}

/**
 * The fragment for `dns.redirect_lan`, or undefined when it is off (then the DNS module adds nothing to
 * the kernel: a DNS-only gateway with redirect_lan off never touches nftables).
 *
 * Throws RedirectConfigError when it is on but nothing would receive the redirected queries.
 */
export function dnsRedirectFragment(o: RedirectOptions): KernelFragment | undefined {
  if (!o.enabled) return undefined;
  if (o.lanInterfaces.length === 0) throw new RedirectConfigError('dns.redirect_lan needs interfaces.lan: only LAN traffic is redirected');
  for (const l of o.listen) {
    if (!Number.isInteger(l.port) || l.port < 1 || l.port > 65535) throw new RedirectConfigError(`dns.listen port ${String(l.port)} is not a port`);
  }
  const port4 = redirectPort(o.listen, 4);
  const port6 = redirectPort(o.listen, 6);
  if (port4 === undefined && port6 === undefined) {
    throw new RedirectConfigError('dns.redirect_lan needs a dns.listen address the LAN can reach (the LAN address, or 0.0.0.0 / ::), not only loopback');
  }
  const lan = ifnames(o.lanInterfaces);
  const redirects: NftRule[] = [];
  // Per family, so a gateway listening on one port for v4 and another for v6 gets each right; a family with
  // no listener is left alone rather than redirected to a port where nothing answers.
  if (port4 !== undefined) {
    redirects.push(rule`iifname ${lan} meta nfproto ipv4 udp dport 53 redirect to :${int(port4)}`);
    redirects.push(rule`iifname ${lan} meta nfproto ipv4 tcp dport 53 redirect to :${int(port4)}`);
  }
  if (port6 !== undefined) {
    redirects.push(rule`iifname ${lan} meta nfproto ipv6 udp dport 53 redirect to :${int(port6)}`);
    redirects.push(rule`iifname ${lan} meta nfproto ipv6 tcp dport 53 redirect to :${int(port6)}`);
  }
  return {
    module: DNS_MODULE_NAME,
    hooks: [
      { point: 'dns-redirect', chain: 'nat_prerouting', rules: redirects },
      // At the reputation point, after the firewall's own jumps: a DoT server that is also listed still
      // shows in the block report as a reputation block. 853 is DNS over TLS (RFC 7858) and over QUIC (RFC 9250).
      {
        point: 'reputation',
        chain: 'forward',
        rules: [
          rule`iifname ${lan} tcp dport 853 reject with tcp reset`,
          rule`iifname ${lan} udp dport 853 reject with icmpx type admin-prohibited`,
        ],
      },
    ],
  };
}
