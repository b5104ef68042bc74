import { moduleRef, type Module } from '../modules/index.js';
import type { ClientsConfig } from './config.js';
import { clientsSection } from './config.js';
import { openClients } from './directory.js';
import type { Clients } from './types.js';
import { clientsMigrations, DeviceRenames } from './renames.js';
import './events.js';

export const clientsRef = moduleRef<Clients>('clients');

/** What the clients module reads of the config: its section, and the LAN interfaces its devices are on. */
export interface ClientsView {
  readonly clients: ClientsConfig;
  readonly interfaces: { readonly lan: readonly string[] };
}

/** LAN devices: who is behind an address (MAC from the neighbour table or DHCP leases, name from config). */
export const clientsModule = {
  name: 'clients',
  sections: (f) => ({ clients: clientsSection(f) }),
  enabled: () => true,
  migrations: clientsMigrations,
  async start(ctx) {
    const c = ctx.config.clients;
    const names = new Map(c.names.map((n) => [n.mac.toLowerCase(), n.name]));
    const renames = new DeviceRenames(ctx.store, names);
    const clients = openClients({
      names,
      ...(c.dhcp_leases ? { dhcpLeases: c.dhcp_leases } : {}),
      interfaces: ctx.config.interfaces.lan,
      onSeen: (e) => ctx.bus.publish('clients.seen', e),
    });
    return {
      provides: clients,
      // For the dashboard's Clients page (and any API client): every device known now.
      routes: async (app) => {
        app.get('/v1/clients', async () => ({ devices: await clients.devices() }));
        app.put('/v1/clients/:mac/name', async (req) => {
          const body = (req.body ?? {}) as { name?: unknown };
          if (typeof body.name !== 'string') throw Object.assign(new Error('body: name: expected a string'), { statusCode: 400 });
          return { renamed: renames.rename((req.params as { mac: string }).mac, body.name) };
        });
      },
      async stop() {},
    };
  },
} satisfies Module<ClientsView, Clients>;
