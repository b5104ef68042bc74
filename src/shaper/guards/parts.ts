import type { FragmentPart } from '../fragment.js';
import { p2pRules } from '../p2p/rules.js';
import { guardRules, type GuardRuleOptions } from './rules.js';

export interface DetectionOptions extends GuardRuleOptions {
  /** `shaper.p2p`: off = no P2P rules at all (no mark, no evidence). */
  readonly p2p: 'throttle' | 'off';
  readonly peerMemorySec?: number;
  readonly clientHoldSec?: number;
}

/**
 * Everything s2 adds to the shaper's fragment, in the order it must run: guards first (a refused connection
 * is neither counted nor marked), then P2P detection (none with `p2p: off`).
 */
export function detectionParts(opts: DetectionOptions): FragmentPart[] {
  const parts: FragmentPart[] = [guardRules(opts)];
  if (opts.p2p === 'throttle') {
    parts.push(
      p2pRules({
        lan: opts.lan,
        ...(opts.peerMemorySec !== undefined ? { peerMemorySec: opts.peerMemorySec } : {}),
        ...(opts.clientHoldSec !== undefined ? { clientHoldSec: opts.clientHoldSec } : {}),
      }),
    );
  }
  return parts;
}
