import { p2pRules, type FragmentPart } from '../p2p/rules.js';
import { guardRules, type GuardRuleOptions } from './rules.js';

export interface DetectionOptions extends GuardRuleOptions {
  /** `shaper.p2p`: off = no P2P rules at all (no mark, no evidence). */
  readonly p2p: 'throttle' | 'off';
  readonly peerMemorySec?: number;
  readonly clientHoldSec?: number;
}

/**
 * Everything s2 adds to the shaper's fragment, in the order it must run: guards first (a refused connection
 * is neither counted nor marked), then P2P detection. s1's fragment spreads these into its own lists.
 */
export function detectionParts(opts: DetectionOptions): FragmentPart {
  const guards = guardRules(opts);
  const p2p: FragmentPart =
    opts.p2p === 'throttle'
      ? p2pRules({
          lan: opts.lan,
          ...(opts.peerMemorySec !== undefined ? { peerMemorySec: opts.peerMemorySec } : {}),
          ...(opts.clientHoldSec !== undefined ? { clientHoldSec: opts.clientHoldSec } : {}),
        })
      : { sets: [], chains: [], hooks: [] };
  return {
    sets: [...guards.sets, ...p2p.sets],
    chains: [...guards.chains, ...p2p.chains],
    hooks: [...guards.hooks, ...p2p.hooks],
  };
}
