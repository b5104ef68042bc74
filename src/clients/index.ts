/**
 * The clients context: the devices on the LAN, each with its MAC, its IPv4 and IPv6 addresses and a name
 * (the config's names by MAC, else its DHCP hostname); later its portal user and DNS group. The one place
 * that answers "who is 10.77.0.10 / fd77::10 right now". Other contexts use only this face.
 */
export type { ClientIdentity, Clients, ClientsOptions, LanDevice } from './types.js';
export type { ClientSeenEvent } from './events.js';
export { openClients } from './directory.js';
export { parseDnsmasqLeases, parseNeighbours, macFromEui64 } from './parse.js';
export { clientsSection, type ClientsConfig } from './config.js';
export { clientsModule, clientsRef } from './module.js';
