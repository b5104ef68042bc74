/*
 * The parts the runtime is made of, from the helpers' folders: wire codec and cache (wire/, cache/), domain
 * index (lists/), upstream router (upstream/), IP index (ipindex/), resolved names (resolved/).
 */
import type { WireError } from './wire/index.js';

export { parseQuery, blockedReply, errorReply, localReply, inspectAnswer, withId, fitUdp, wireErrorReply, buildQuery, type Query, type WireError, type AnswerFacts } from './wire/index.js';
export { DnsCache } from './cache/index.js';
export { DomainIndex, type ListMask } from './lists/index.js';
export { UpstreamRouter, AllUpstreamsFailed } from './upstream/index.js';
export { IpIndex, type IpEntry, type IpAllow, type IpHit, type IpIndexTransfer, type IpDelta, IpIndexFeed, type IpIndexUpdate } from './ipindex/index.js';
export { ResolvedNames } from './resolved/index.js';

export function isWireError(x: unknown): x is WireError {
  return typeof x === 'object' && x !== null && 'kind' in x;
}
