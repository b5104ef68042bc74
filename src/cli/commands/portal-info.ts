import type { Command } from 'commander';
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { loadConfig } from '../../daemon/index.js';
import { parseListenAddress } from '../../config/index.js';
import { configFile, withConfig, type GlobalOpts } from '../context.js';

/*
 * `gatehouse portal info`: where the RFC 8908 Captive Portal API answers, and the RFC 8910 lines that tell
 * the LAN's devices about it through DHCP (option 114), DHCPv6 (option 103) or router advertisements
 * (option 37), for the DHCP servers an admin is likely to run. Reads the config only; no daemon needed.
 */

interface PortalListen {
  readonly listen: string;
  readonly tls?: { readonly listen: string };
}

function portalSection(cfg: unknown): PortalListen | undefined {
  const p = (cfg as { portal?: unknown }).portal;
  if (typeof p !== 'object' || p === null || typeof (p as { listen?: unknown }).listen !== 'string') return undefined;
  const tls = (p as { tls?: { listen?: unknown } }).tls;
  return { listen: (p as { listen: string }).listen, ...(tls && typeof tls.listen === 'string' ? { tls: { listen: tls.listen } } : {}) };
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** The address LAN devices reach the portal at: the listen address, else the first IPv4 of a LAN interface. */
export function portalHost(listenHost: string, lanInterfaces: readonly string[], override?: string): string | undefined {
  if (override) return override;
  if (!WILDCARD.has(listenHost)) return listenHost;
  const ifs = networkInterfaces();
  for (const name of lanInterfaces) {
    const v4 = ifs[name]?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  return undefined;
}

export function apiUrl(host: string, port: number, secure: boolean): string {
  const h = isIP(host) === 6 ? `[${host}]` : host;
  const dflt = secure ? 443 : 80;
  return `${secure ? 'https' : 'http'}://${h}${port === dflt ? '' : `:${port}`}/api/captive`;
}

/** The RFC 8910 value (the API's URI) as configuration lines for common DHCP/RA servers. */
export function dhcpOptionLines(url: string): string[] {
  return [
    `RFC 8910 value (DHCPv4 option 114, DHCPv6 option 103, RA option 37): ${url}`,
    '',
    'dnsmasq (/etc/dnsmasq.conf, or OpenWrt: uci add_list dhcp.lan.dhcp_option=...):',
    `  dhcp-option=114,"${url}"`,
    `  dhcp-option=option6:103,"${url}"`,
    '',
    'ISC dhcpd (dhcpd.conf / dhcpd6.conf):',
    '  option captive-portal code 114 = text;',
    `  option captive-portal "${url}";`,
    '  option dhcp6.captive-portal code 103 = string;',
    `  option dhcp6.captive-portal "${url}";`,
    '',
    'Kea (kea-dhcp4.conf "option-data"):',
    `  { "code": 114, "name": "v4-captive-portal", "data": "${url}" }`,
    '',
    'odhcpd (OpenWrt DHCPv6/RA): no captive-portal setting is known to us on current builds;',
    '  hand out option 114 from dnsmasq (above): devices find the API over IPv4 and the portal covers IPv6 too.',
  ];
}

export function registerPortalInfo(program: Command): void {
  const portal = program.commands.find((c) => c.name() === 'portal') ?? program.command('portal').description('the captive portal');
  withConfig(portal.command('info'))
    .description('the RFC 8908 API URL and the RFC 8910 DHCP/RA lines that announce it')
    .option('--address <ip>', 'the gateway LAN address devices use (default: portal.listen, else the first LAN interface address)')
    .action((o: GlobalOpts & { address?: string }) => {
      const file = configFile(o);
      if (!file) throw new Error('no config file: give --config FILE');
      const cfg = loadConfig(file);
      const p = portalSection(cfg);
      if (!p) throw new Error(`${file}: no portal section: the captive portal is off`);
      if (o.address !== undefined && !isIP(o.address)) throw new Error(`--address: not an IP address: ${JSON.stringify(o.address)}`);
      const lan = (cfg as { interfaces?: { lan?: readonly string[] } }).interfaces?.lan ?? [];
      const http = parseListenAddress(p.listen);
      const host = portalHost(http.host, lan, o.address);
      const shown = host ?? '<gateway LAN address>';
      const tls = p.tls ? parseListenAddress(p.tls.listen) : undefined;
      const url = tls ? apiUrl(shown, tls.port, true) : apiUrl(shown, http.port, false);
      const lines = [
        `portal pages:      ${apiUrl(shown, http.port, false).replace(/\/api\/captive$/, '/login')}`,
        `captive API:       ${apiUrl(shown, http.port, false)}${tls ? `\n                   ${apiUrl(shown, tls.port, true)}` : ''}`,
        ...(host ? [] : ['(portal.listen is a wildcard and no LAN interface address was found here: give --address IP)']),
        ...(tls ? [] : ['(RFC 8908 asks for HTTPS: with portal.tls set, the https URL is announced; browsers accept plain http in practice)']),
        '',
        ...dhcpOptionLines(url),
      ];
      console.log(lines.join('\n'));
    });
}
