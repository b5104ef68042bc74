/*
 * Where the runtime gets the parts other helpers build (wire codec, cache, domain index, upstream pool, IP
 * index, resolved names). Until a part lands on this branch its interim stand-in (src/dns/interim/) is used;
 * this is the one file to switch.
 */
export { parseQuery, blockedReply, errorReply, localReply, inspectAnswer, withId, fitUdp, isWireError, type Query, type WireError, type AnswerFacts } from './interim/wire.js';
export { DnsCache } from './interim/cache.js';
export { DomainIndex, type ListMask } from './interim/domain-index.js';
export { UpstreamRouter, AllUpstreamsFailed } from './upstream/index.js';
export { IpIndex, type IpEntry, type IpHit } from './interim/ip-index.js';
export { ResolvedNames } from './interim/resolved.js';
