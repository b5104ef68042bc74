import type { BlockHit } from '../store/index.js';

declare module '../events/map.js' {
  interface GatehouseEvents {
    /** Blocked (or, in monitor mode, would-be-blocked) connections the collector just recorded. */
    'firewall.blocked': readonly BlockHit[];
  }
}
