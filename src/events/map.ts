/**
 * The events of the in-process bus, by name. Empty here on purpose: each module declares its own events
 * next to the code that publishes them, by augmenting this interface, so a new module adds events without
 * editing a central union and the bus still checks every name and payload at compile time:
 *
 *   declare module '../events/map.js' {
 *     interface GatehouseEvents { 'dns.blocked': DnsBlock }
 *   }
 *
 * Names are `<module>.<what happened>`; the module prefix says who owns (publishes) the event.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface GatehouseEvents {}
