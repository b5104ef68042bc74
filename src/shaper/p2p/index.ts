export { p2pRules, P2P_SETS, type P2pRuleOptions } from './rules.js';
export { createP2pTracker, privateClient, type Exec, type P2pTracker, type P2pTrackerOptions } from './tracker.js';
export { analyseBehaviour, DEFAULT_MIN_BOTH_PEERS, DEFAULT_MIN_PEERS, type BehaviourOptions, type ClientBehaviour } from './behaviour.js';
export { countConnections, parseConntrack, parseConntrackLine, readConntrack, type FlowTuple, type ParsedConntrack, type TrackedFlow } from './conntrack.js';
export { LSD, matchSignatures, PAYLOAD_SIGNATURES, SIGNATURE_CODES, signatureByCode, type PayloadSignature, type SignatureName } from './signatures.js';
export { HIGH_PORT, isNormalPort, NORMAL_HIGH_PORTS } from './ports.js';
export type { P2pFlaggedEvent } from './events.js';
