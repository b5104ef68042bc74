import type { GuardCap } from './rules.js';

/** A client hit a hog guard: the kernel refused (max_connections) or dropped (rate) its new connections. */
export interface CapHitEvent {
  readonly client: string;
  readonly cap: GuardCap;
  /** Packets refused so far in this record's lifetime (the kernel's per-client counter). */
  readonly refused: number;
}

declare module '../../events/index.js' {
  interface GatehouseEvents {
    'shaper.cap_hit': CapHitEvent;
  }
}
