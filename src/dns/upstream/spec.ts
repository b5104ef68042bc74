/**
 * Upstream specs as written in `dns.upstreams` / `dns.forward[].upstream` (pure: no sockets, no lookups).
 *
 *   9.9.9.9  9.9.9.9:5353  [2001:db8::53]:53  2001:db8::53      plain DNS: UDP, TCP when the answer is truncated
 *   udp://9.9.9.9[:port]                                         the same, spelled out
 *   tcp://9.9.9.9[:port]                                         plain DNS over TCP only
 *   tls://dns.quad9.net[:853]                                    DNS over TLS; certificate name and SNI = the host
 *   tls://9.9.9.9[:853]#dns.quad9.net                            connect to the IP, check the certificate for the name
 *   https://dns.quad9.net[:443]/dns-query                        DNS over HTTPS (RFC 8484), POST over HTTP/2
 *   https://9.9.9.9/dns-query#dns.quad9.net                      the same, IP pinned (no bootstrap lookup)
 *   https://host/dns-query{?dns}                                 the RFC 8484 URI template: GET ?dns=base64url
 *
 * Plain and TCP upstreams must be IP addresses: resolving a name would need DNS, which is what this resolver
 * is for (the gateway's own resolver is often this resolver). Encrypted upstreams may use a name (resolved
 * with the OS resolver when a connection opens); the `#name` form avoids that bootstrap lookup.
 */
import { isIP } from 'node:net';

export type UpstreamProtocol = 'udp' | 'tcp' | 'tls' | 'https';

export interface UpstreamSpec {
  protocol: UpstreamProtocol;
  /** Where to connect: an IP address, or (tls/https only) a host name. */
  host: string;
  port: number;
  /** Name the TLS certificate must carry and the SNI sent (tls/https); undefined for an IP without `#name`. */
  tlsName?: string;
  /** https only: request path ("/dns-query"), without the `{?dns}` template. */
  path?: string;
  /** https only: GET with ?dns= (URI template `{?dns}`) instead of POST. */
  method?: 'GET' | 'POST';
  /** Canonical text, used as the upstream's name in status and logs. */
  text: string;
}

export class UpstreamSpecError extends Error {
  override name = 'UpstreamSpecError';
}

const DEFAULT_PORT: Record<UpstreamProtocol, number> = { udp: 53, tcp: 53, tls: 853, https: 443 };
const HOST_LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;
const PATH_CHARS = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const MAX_SPEC = 512;

function fail(text: string, why: string): never {
  throw new UpstreamSpecError(`upstream "${text}": ${why}`);
}

export function isHostName(h: string): boolean {
  if (h.length === 0 || h.length > 253) return false;
  const labels = h.split('.');
  // A name made only of digits and dots is a mistyped IP address, not a host.
  if (labels.every((l) => /^[0-9]+$/.test(l))) return false;
  return labels.every((l) => HOST_LABEL.test(l));
}

function parsePort(text: string, p: string): number {
  if (!/^[0-9]{1,5}$/.test(p)) fail(text, `port must be a number 1-65535, got "${p}"`);
  const n = Number(p);
  if (n < 1 || n > 65535) fail(text, `port must be 1-65535, got ${n}`);
  return n;
}

/** Splits "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address. */
function splitHostPort(text: string, hp: string, proto: UpstreamProtocol): { host: string; port: number } {
  if (hp.length === 0) fail(text, 'no address');
  if (hp.startsWith('[')) {
    const close = hp.indexOf(']');
    if (close < 0) fail(text, 'missing "]" after the IPv6 address');
    const host = hp.slice(1, close);
    if (isIP(host) !== 6) fail(text, `"${host}" is not an IPv6 address`);
    const rest = hp.slice(close + 1);
    if (rest === '') return { host, port: DEFAULT_PORT[proto] };
    if (!rest.startsWith(':')) fail(text, `unexpected "${rest}" after "]"`);
    return { host, port: parsePort(text, rest.slice(1)) };
  }
  if (isIP(hp) === 6) return { host: hp, port: DEFAULT_PORT[proto] };
  const colons = hp.split(':').length - 1;
  if (colons > 1) fail(text, 'an IPv6 address with a port is written [address]:port');
  if (colons === 1) {
    const i = hp.indexOf(':');
    return { host: hp.slice(0, i), port: parsePort(text, hp.slice(i + 1)) };
  }
  return { host: hp, port: DEFAULT_PORT[proto] };
}

function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function checkHost(text: string, host: string, proto: UpstreamProtocol): string {
  const fam = isIP(host);
  if (fam !== 0) return host;
  const lower = host.toLowerCase();
  if (proto === 'udp' || proto === 'tcp') {
    if (isHostName(lower)) fail(text, `plain DNS upstreams need an IP address, not a name ("${host}" would have to be resolved through DNS itself); use tls:// or https:// for a named server`);
    fail(text, `"${host}" is not an IP address`);
  }
  if (!isHostName(lower)) fail(text, `"${host}" is neither an IP address nor a host name`);
  return lower;
}

function checkTlsName(text: string, name: string): string {
  const lower = name.toLowerCase();
  if (!isHostName(lower)) fail(text, `"#${name}" must be the host name on the server's certificate`);
  return lower;
}

export function parseUpstreamSpec(input: string): UpstreamSpec {
  const text = input.trim();
  if (text.length === 0) fail(input, 'empty');
  if (text.length > MAX_SPEC) fail(text.slice(0, 40) + '…', `longer than ${MAX_SPEC} characters`);
  if (/\s/.test(text)) fail(text, 'contains white space');
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  const scheme = m ? m[1]!.toLowerCase() : '';
  let rest = m ? text.slice(m[0].length) : text;
  let proto: UpstreamProtocol;
  switch (scheme) {
    case '': case 'udp': proto = 'udp'; break;
    case 'tcp': proto = 'tcp'; break;
    case 'tls': proto = 'tls'; break;
    case 'https': proto = 'https'; break;
    case 'http': fail(text, 'DNS over plain http:// is not supported (use https://)');
    default: fail(text, `unknown scheme "${scheme}://" (use IP[:port], tcp://, tls:// or https://)`);
  }
  let tlsName: string | undefined;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    if (proto !== 'tls' && proto !== 'https') fail(text, '"#name" (the certificate name) only applies to tls:// and https://');
    tlsName = checkTlsName(text, rest.slice(hash + 1));
    rest = rest.slice(0, hash);
  }
  let path: string | undefined;
  let method: 'GET' | 'POST' | undefined;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    if (proto !== 'https') fail(text, `a path only applies to https:// upstreams, got "${rest.slice(slash)}"`);
    path = rest.slice(slash);
    rest = rest.slice(0, slash);
    method = 'POST';
    if (path.endsWith('{?dns}')) {
      method = 'GET';
      path = path.slice(0, -'{?dns}'.length);
    }
    if (path.includes('?')) fail(text, 'the path may not carry a query string (write the RFC 8484 template "{?dns}" for GET)');
    if (!PATH_CHARS.test(path)) fail(text, `"${path}" is not a valid URL path`);
  } else if (proto === 'https') {
    path = '/dns-query';
    method = 'POST';
  }
  if (rest.includes('@')) fail(text, 'user names ("…@") are not supported; to pin the address write tls://IP#name');
  const hp = splitHostPort(text, rest, proto);
  const host = checkHost(text, hp.host, proto);
  if (tlsName !== undefined && isIP(host) === 0) fail(text, '"#name" is for an IP address; with a host name, the host is the certificate name');
  if ((proto === 'tls' || proto === 'https') && tlsName === undefined && isIP(host) === 0) tlsName = host;
  const hostPort = formatHostPort(host, hp.port);
  const suffix = tlsName !== undefined && isIP(host) !== 0 ? `#${tlsName}` : '';
  const canonical =
    proto === 'udp' ? hostPort
    : proto === 'https' ? `https://${hostPort}${path}${method === 'GET' ? '{?dns}' : ''}${suffix}`
    : `${proto}://${hostPort}${suffix}`;
  const spec: UpstreamSpec = { protocol: proto, host, port: hp.port, text: canonical };
  if (tlsName !== undefined) spec.tlsName = tlsName;
  if (path !== undefined) spec.path = path;
  if (method !== undefined) spec.method = method;
  return spec;
}

/** The message for a bad spec, or undefined when it is fine (for config layers that collect problems). */
export function checkUpstreamSpec(text: string): string | undefined {
  try {
    parseUpstreamSpec(text);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const DOMAIN_LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** "LAN." → "lan"; undefined when it is not a domain name. */
export function normalizeDomain(d: string): string | undefined {
  let s = d.trim().toLowerCase();
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s.startsWith('*.')) s = s.slice(2); // "*.lan" means the same as "lan" here: the domain and below
  if (s.length === 0 || s.length > 253) return undefined;
  // All-digit labels are fine here: reverse zones ("168.192.in-addr.arpa") are made of them.
  return s.split('.').every((l) => DOMAIN_LABEL.test(l)) ? s : undefined;
}
