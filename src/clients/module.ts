import { moduleRef, type Module } from '../modules/index.js';
import { ClientDirectory } from '../net/clients.js';
import { clientsSection, type ClientsConfig } from './config.js';

export const clientsRef = moduleRef<ClientDirectory>('clients');

/** LAN devices: who is behind an address (MAC from the neighbour table or DHCP leases, name from config). */
export const clientsModule = {
  name: 'clients',
  sections: (f) => ({ clients: clientsSection(f) }),
  enabled: () => true,
  async start(ctx) {
    const c = ctx.config.clients;
    const directory = new ClientDirectory({ names: new Map(c.names.map((n) => [n.mac.toLowerCase(), n.name])), dhcpLeases: c.dhcp_leases });
    return { provides: directory, async stop() {} };
  },
} satisfies Module<{ readonly clients: ClientsConfig }, ClientDirectory>;
