/** An address the clients context learned for a LAN device (first seen, or moved to another device). */
export interface ClientSeenEvent {
  readonly mac: string;
  readonly address: string;
  /** True when the MAC itself is new: a device that joined the LAN (or came back after an hour away). */
  readonly newDevice: boolean;
  /** Epoch milliseconds of the neighbour-table or lease read that showed it. */
  readonly at: number;
}

declare module '../events/index.js' {
  interface GatehouseEvents {
    /** A LAN device showed an address the clients context did not have for it. */
    'clients.seen': ClientSeenEvent;
  }
}
