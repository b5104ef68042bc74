import type { BlockEvent, BlockFilter } from '../../store/index.js';
import type { AuthMethod, PortalSessions } from '../types.js';
import type { PortalTexts } from './texts.js';
import type { ListenerLimits } from '../../net/listeners.js';

/*
 * What the portal's web part needs from the rest of Gatehouse. The portal module (module.ts) builds these
 * from its config and the context and calls `startPortalWeb`; the web part never opens the store or reads
 * the config file itself, so its tests run it with small in-memory stand-ins.
 */

/** The portal section as the web part reads it (already validated; paths absolute). */
export interface PortalWebConfig {
  /** ADDRESS:PORT the pages listen on (`portal.listen`), e.g. `10.77.0.1:8080` or `[fd77::1]:8080`. */
  readonly listen: string;
  /** More plain-HTTP listeners (e.g. the LAN's IPv6 address next to the IPv4 one). */
  readonly extraListen?: readonly string[];
  /** Which ways of logging in the page offers (`portal.auth`). */
  readonly auth: readonly AuthMethod[];
  /** RFC 8908 over TLS and an https login page (`portal.tls`): PEM file paths and where to listen. */
  readonly tls?: { readonly listen: string; readonly cert: string; readonly key: string };
  /** Page texts by key (`portal.texts`); missing keys fall back to the English defaults. */
  readonly texts?: Partial<PortalTexts>;
}

/** The block report rows the status page shows (the store's BlockEventRepo fits). */
export interface BlockReader {
  list(f: BlockFilter): readonly BlockEvent[];
}

/** The DNS filter's opt-out list (a client = IP, CIDR, MAC or name), when the DNS module runs. */
export interface PortalDnsOptout {
  list(): readonly string[];
  add(client: string): Promise<boolean>;
  delete(client: string): Promise<boolean>;
}

/** Where refusals and failures are logged (the module's pino child fits). */
export interface PortalWebLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PortalWebOptions {
  readonly sessions: PortalSessions;
  readonly config: PortalWebConfig;
  /** The block report, for "why was something of mine blocked" on /status. */
  readonly blocks?: BlockReader;
  /** The device's name (clients module: `clients.names`, DHCP), for "your laptop tried to reach …". */
  readonly deviceName?: (mac: string, ip: string) => Promise<string | undefined>;
  /**
   * Sessions that ended (the `portal.logout` event): the login page then tells a device sent back by a limit
   * which one ("Your download allowance for this session is used up"). Returns the unsubscribe.
   */
  readonly endings?: (listener: (e: SessionEnding) => void) => () => void;
  /** Present when the DNS module runs: /status then offers the ad-list opt-out switch. */
  readonly dns?: PortalDnsOptout;
  readonly log: PortalWebLog;
  /**
   * Whether a client address may use the portal at all (the captive LAN). Connections from elsewhere — the
   * WAN, when `portal.listen` is a wildcard such as `[::]:8880` — are closed as soon as they are accepted.
   * Absent: everyone who can connect.
   */
  readonly clientAllowed?: (ip: string) => boolean;
  /** Connection caps for the listeners (the context's `listenerLimits['portal.listen']`); default: the fixed ones. */
  readonly limits?: ListenerLimits;
  /** Injectable clock (tests). */
  readonly now?: () => number;
}

/** A session's end as the portal.logout event tells it. */
export interface SessionEnding {
  readonly ips: readonly string[];
  readonly reason: string;
  readonly at: number;
}

/** The running listeners. */
export interface PortalWeb {
  /** Bound addresses, `http://…` and `https://…`. */
  readonly urls: readonly string[];
  close(): Promise<void>;
}
