import { moduleRef, type Module } from '../modules/index.js';
import { shaperSection, type ShaperConfig } from './config.js';
import type { ShaperApi } from './types.js';
import { shaperMigrations } from './usage.js';

/** What the shaper module reads of the config. */
export interface ShaperView {
  readonly shaper?: ShaperConfig | undefined;
  readonly interfaces: { readonly lan: readonly string[]; readonly wan: readonly string[] };
}

export const shaperRef = moduleRef<ShaperApi>('shaper');

/**
 * The fair-share shaper: HTB classes per resident on LAN egress (download) and WAN egress (upload),
 * classified by the shaper's nft maps; P2P and hog guards from p2p/ and guards/. Runs when the config has a
 * `shaper:` section.
 */
export const shaperModule = {
  name: 'shaper',
  sections: () => ({ shaper: shaperSection().optional() }),
  enabled: (c) => c.shaper !== undefined,
  requires: ['firewall'],
  after: ['firewall', 'clients'],
  // Without its own interfaces the shaper shapes the firewall's: then `interfaces` must be there.
  needsInterfaces: (raw) => {
    const s = raw['shaper'];
    return typeof s === 'object' && s !== null && (s as Record<string, unknown>)['interfaces'] === undefined;
  },
  migrations: shaperMigrations,
  // Loaded here, not at the top: every CLI verb reads the module list.
  start: async (ctx) => (await import('./run.js')).startShaper(ctx),
} satisfies Module<ShaperView, ShaperApi>;
