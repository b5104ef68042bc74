import { parseListenAddress } from '../config/index.js';
import { covers, parseTarget } from '../net/ip.js';
import type { NetworkContext } from '../net/target-guard.js';

/**
 * Why the dashboard must not listen on `listen` without TLS, or undefined when it may: on an address of
 * a WAN interface, or on every address (0.0.0.0 / ::, which includes the WAN's), a password would cross
 * the internet in clear. With TLS it may listen anywhere; the login is always required.
 */
export function wanRefusal(listen: string, tls: boolean, net: NetworkContext, wanInterfaces: readonly string[]): string | undefined {
  if (tls) return undefined;
  const { host } = parseListenAddress(listen);
  if (host === 'localhost') return undefined;
  const t = parseTarget(host);
  const unspecified = /^0+$/.test(t.start.toString('hex'));
  const wan = new Set(wanInterfaces);
  if (unspecified) {
    if (wan.size === 0) return undefined;
    return `web.listen ${listen} includes the WAN (${[...wan].join(', ')}): set web.tls (a certificate, or self_signed) or listen on a LAN address`;
  }
  const hit = net.own.find((o) => wan.has(o.ifname) && covers(o.target, t));
  if (hit) return `web.listen ${listen} is an address of the WAN interface ${hit.ifname}: set web.tls (a certificate, or self_signed) or listen on a LAN address`;
  return undefined;
}
