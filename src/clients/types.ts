import type { ClientSeenEvent } from './events.js';
/** The clients context's types: what other contexts may know about a LAN device. */

/** Who an address belongs to: what a block event records about its LAN side. */
export interface ClientIdentity {
  /** Lower case, e.g. "02:77:00:00:00:10"; null when no device is known for the address. */
  readonly mac: string | null;
  readonly name: string | null;
}

/** One device on the LAN, known by its MAC. */
export interface LanDevice {
  readonly mac: string;
  readonly name: string | null;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
  /** Epoch ms when one of its addresses was last seen in the neighbour table or a DHCP lease. */
  readonly lastSeen: number;
  /** Room for the captive portal: the user signed in on this device. */
  readonly portalUser?: string;
  /** Room for the DNS filter: the group whose policy applies. */
  readonly dnsGroup?: string;
}

export interface Clients {
  /**
   * The device's MAC and name behind a LAN address (IPv4 or IPv6), nulls when unknown. On a miss the
   * neighbour table is read again if it is older than `seenAt` (epoch ms; default a second ago): an address
   * often enters the table only when the gateway answers it, e.g. with the reset of a blocked connection.
   */
  whoIs(ip: string, seenAt?: number): Promise<ClientIdentity>;
  /** The whole device behind an address, with all its addresses; undefined when unknown. */
  device(ip: string): Promise<LanDevice | undefined>;
  /** Every device known now. */
  devices(): Promise<readonly LanDevice[]>;
}

export interface ClientsOptions {
  /** MAC (lower case) → name, from the config. */
  readonly names: ReadonlyMap<string, string>;
  /** dnsmasq leases file: "<expiry> <mac> <ip> <hostname> <client-id>" per line. */
  readonly dhcpLeases?: string;
  /** The LAN interfaces: neighbour entries on other interfaces (the WAN's router) are no LAN devices. All when absent. */
  readonly interfaces?: readonly string[];
  readonly clock?: () => number;
  /** The neighbour table as `ip -j neigh show` prints it (JSON text); tests pass captured output. */
  readonly readNeighbours?: () => Promise<string>;
  /** Told of every address learned for a device (the module publishes it as `clients.seen`). */
  readonly onSeen?: (e: ClientSeenEvent) => void;
}
