import { moduleRef, type Module } from '../modules/index.js';
import { portalSection, type PortalConfig } from './config.js';
import { portalMigrations } from './schema.js';
import type { PortalSessions } from './types.js';
import './events.js';

/** What the portal module reads of the config. */
export interface PortalView {
  readonly portal?: PortalConfig | undefined;
  readonly interfaces: { readonly lan: readonly string[] };
  /** The DNS filter's listeners: unauthorised clients may still ask it. */
  readonly dns?: { readonly listen: readonly string[] } | undefined;
}

export const portalRef = moduleRef<PortalSessions>('portal');

/**
 * The captive portal: LAN devices reach the internet only after a login (account, voucher or click-through),
 * with time and traffic limits per session and per user enforced in the kernel. Runs when the config has a
 * `portal:` section; needs the firewall (its table) and the clients module (who is behind an address).
 */
export const portalModule = {
  name: 'portal',
  sections: (f) => ({ portal: portalSection(f) }),
  enabled: (c) => c.portal !== undefined,
  requires: ['firewall', 'clients'],
  after: ['dns', 'shaper'],
  needsInterfaces: (raw) => raw['portal'] !== undefined,
  listenKeys: ['portal.listen'],
  lanInterfaceKeys: ['portal.interfaces'],
  listeners: (c) => (c.portal ? [['portal.listen', c.portal.listen] as const] : []),
  migrations: portalMigrations,
  // Loaded here, not at the top: `gatehouse config check` and every CLI verb read the module list.
  start: async (ctx) => (await import('./run.js')).startPortal(ctx),
} satisfies Module<PortalView, PortalSessions>;
