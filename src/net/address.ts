import { tryParseTarget } from './ip.js';

/** A socket address to listen on, split for net.Server.listen / fastify.listen. */
export interface ListenAddress {
  /** IP literal without brackets ("127.0.0.1", "::1") or "localhost". */
  readonly host: string;
  readonly port: number;
}

/**
 * Parses "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80", "localhost:8080". Port 0 means "pick a free port"
 * (tests, the lab). Host names other than localhost are refused: a daemon should not resolve DNS to
 * find out where to listen, and a typo there would silently bind somewhere else.
 */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) throw new Error(`expected ADDRESS:PORT such as 127.0.0.1:8080 or [::1]:8080, got ${JSON.stringify(text)}`);
  const v6 = m[1];
  const other = m[2];
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`port ${port} is out of range (0-65535)`);
  if (v6 !== undefined) {
    const t = tryParseTarget(v6);
    if (!t || !t.isHost || t.family !== 6 || !v6.includes(':')) throw new Error(`${JSON.stringify(v6)} is not an IPv6 address`);
    return { host: v6, port };
  }
  const host = other ?? '';
  if (host === 'localhost') return { host, port };
  const t = tryParseTarget(host);
  if (!t || !t.isHost || t.family !== 4) {
    throw new Error(`${JSON.stringify(host)} is not an IPv4 address (write IPv6 in brackets: [::1]:8080; host names other than localhost are not accepted)`);
  }
  return { host, port };
}

const MAC = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

/** Normalises a MAC address to lower case with colons; accepts colon or dash separators. */
export function parseMac(text: string): string {
  const mac = tryParseMac(text);
  if (mac === undefined) throw new Error(`expected a MAC address like aa:bb:cc:dd:ee:ff, got ${JSON.stringify(text)}`);
  return mac;
}

/** parseMac, or undefined when the text is not a MAC address. */
export function tryParseMac(text: string): string | undefined {
  const s = text.trim();
  return MAC.test(s) ? s.toLowerCase().replaceAll('-', ':') : undefined;
}

/** Linux interface names: at most 15 bytes (IFNAMSIZ - 1), and "." / ".." are reserved. */
export const INTERFACE_NAME = /^[A-Za-z0-9_.@-]{1,15}$/;

export function isInterfaceName(text: string): boolean {
  return INTERFACE_NAME.test(text) && text !== '.' && text !== '..';
}
