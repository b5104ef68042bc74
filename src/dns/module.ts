import { moduleRef, type Module } from '../modules/index.js';
import { dnsSection, type DnsConfig } from './config.js';
import type { DnsApi } from './types.js';
import { dnsMigrations } from './optout.js';

/** What the dns module reads of the config. */
export interface DnsView {
  readonly dns?: DnsConfig | undefined;
  readonly data_dir: string;
  readonly interfaces: { readonly lan: readonly string[] };
}

export const dnsRef = moduleRef<DnsApi>('dns');

/**
 * The DNS filter: a resolver run by worker processes the daemon supervises (see supervisor.ts), with
 * domain lists, client groups, a cache, upstream pools and the answer check against outbound decisions.
 * Runs when the config has a `dns:` section; needs no firewall (the DNS-only deployment touches no nftables).
 */
export const dnsModule = {
  name: 'dns',
  sections: (f) => ({ dns: dnsSection(f) }),
  enabled: (c) => c.dns !== undefined,
  after: ['decisions', 'firewall', 'clients', 'feeds'],
  migrations: dnsMigrations,
  // Loaded here, not at the top: `gatehouse config check` and every CLI verb read the module list.
  start: async (ctx) => (await import('./run.js')).startDns(ctx),
} satisfies Module<DnsView, DnsApi>;
