import { moduleRef, type Module } from '../modules/index.js';
import type { FeedConfig } from '../feeds/index.js';
import { notifySection, type NotifyConfig } from './config.js';
import { notifyMigrations } from './queue.js';
import type { NotifyApi } from './run.js';

/** What the notify module reads of the config. */
export interface NotifyView {
  readonly notify?: NotifyConfig | undefined;
  readonly feeds: readonly FeedConfig[];
}

export const notifyRef = moduleRef<NotifyApi>('notify');

/**
 * Notifications: rules turn the other modules' events into messages (grouped, cooled down, held over quiet
 * hours), queued in the store and delivered to webhook and email channels with retries; a daily digest.
 * Runs when the config has a `notify:` section.
 */
export const notifyModule = {
  name: 'notify',
  sections: (f) => ({ notify: notifySection(f).optional() }),
  enabled: (c) => c.notify !== undefined,
  after: ['decisions', 'firewall', 'clients', 'feeds', 'crowdsec', 'dns', 'shaper', 'portal'],
  migrations: notifyMigrations,
  // Loaded here, not at the top: `gatehouse config check` and every CLI verb read the module list.
  start: async (ctx) => (await import('./run.js')).startNotify(ctx),
} satisfies Module<NotifyView, NotifyApi>;
