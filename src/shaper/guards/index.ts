export { detectionParts, type DetectionOptions } from './parts.js';
export { CAP_RECORD_SEC, DEFAULT_ELEPHANT_BYTES, GUARD_SETS, guardRules, type GuardCap, type GuardRuleOptions } from './rules.js';
export { createCapWatcher, type CapHit, type CapWatcher } from './caps.js';
export { CONNTRACK_ACCT_PATH, enableConntrackAcct, type AcctState } from './acct.js';
export type { CapHitEvent } from './events.js';
