import type { Module } from '../modules/index.js';

/** How long deleted and expired decisions are kept for `explain` and the LAPI's deleted stream. */
const KEEP_DELETED_MS = 7 * 86_400_000;

/**
 * The decision store's upkeep: expired decisions leave the store (and with them the kernel and the
 * bouncers' streams) every `firewall.expire_interval` — with or without the firewall running — and old
 * deleted ones are forgotten hourly.
 */
export const decisionsModule = {
  name: 'decisions',
  sections: () => ({}),
  enabled: () => true,
  async start(ctx) {
    const timers = [
      ctx.scheduler.every('expire decisions', ctx.config.firewall.expire_interval, () => void ctx.decisions.expire()),
      ctx.scheduler.every('purge old decisions', 3600_000, () => void ctx.decisions.purgeDeleted(ctx.scheduler.clock.now() - KEEP_DELETED_MS)),
    ];
    return {
      async stop() {
        await Promise.allSettled(timers.map((t) => t.stop()));
      },
    };
  },
} satisfies Module<{ readonly firewall: { readonly expire_interval: number } }>;
