import type { P2pEvidence } from '../types.js';

/** A client newly flagged as doing P2P (signatures seen by the kernel, or the behaviour heuristic). */
export interface P2pFlaggedEvent {
  readonly client: string;
  readonly evidence: P2pEvidence;
}

declare module '../../events/index.js' {
  interface GatehouseEvents {
    'shaper.p2p_flagged': P2pFlaggedEvent;
  }
}
