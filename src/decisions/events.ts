import type { DecisionChange } from './service.js';

declare module '../events/map.js' {
  interface GatehouseEvents {
    /**
     * Decisions added, removed or expired, or the allowlist changed: published by the decision store after
     * each committed write, with the kernel hints the enforcer needs. Must-see subscribers get every one,
     * in commit order (the enforcer, the LAPI stream cache).
     */
    'decisions.changed': DecisionChange;
  }
}
