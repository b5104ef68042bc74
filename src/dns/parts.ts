/*
 * The parts the runtime is made of, from the helpers' folders: wire codec and cache (wire/, cache/), domain
 * index (lists/), upstream router (upstream/), IP index (ipindex/), resolved names (resolved/).
 */
import type { WireError } from './wire/index.js';

export { parseQuery, blockedReply, errorReply, localReply, inspectAnswer, withId, fitUdp, wireErrorReply, buildQuery, type Query, type WireError, type AnswerFacts } from './wire/index.js';
export { DnsCache } from './cache/index.js';
// The modules themselves, not the folders' index files: the workers import this file, and lists/index and
// upstream/index pull in the config schemas (zod) and the feed downloader — ~30 MB of RSS per worker for
// code a worker never runs.
export { DomainIndex, type ListMask } from './lists/domain-index.js';
export { UpstreamRouter } from './upstream/router.js';
export { AllUpstreamsFailed } from './upstream/pool.js';
export { IpIndex, type IpEntry, type IpAllow, type IpHit, type IpIndexTransfer, type IpDelta, IpIndexFeed, type IpIndexUpdate } from './ipindex/index.js';
export { ResolvedNames } from './resolved/index.js';

export function isWireError(x: unknown): x is WireError {
  return typeof x === 'object' && x !== null && 'kind' in x;
}
