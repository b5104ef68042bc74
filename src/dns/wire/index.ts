/**
 * DNS wire layer: the resolver's hot path, hand-written over Uint8Array (dns-packet is for tests and rare
 * replies). Shapes: DNS-DESIGN.md "wire". Additions to the design, all compatible:
 * - WireError `formerr` may carry `rcode` (NOTIMP 4, BADVERS 16); wireErrorReply() builds the right answer.
 * - errorReply() also takes 'NOTIMP'. AnswerFacts also has `negative` and `hasSoa`.
 * - buildQuery(), cacheForm(), adjustTtl(), encodeName() for the cache and prefetch.
 */
export type { AnswerFacts, EdeOption, Query, WireError } from './types.js';
export { EDE, OUR_UDP_SIZE, QTYPE, RCODE } from './types.js';
export { buildQuery, parseQuery } from './query.js';
export { inspectAnswer } from './inspect.js';
export { blockedReply, errorReply, fitUdp, localReply, wireErrorReply, withId } from './reply.js';
export type { ErrorRcode, LocalAnswer } from './reply.js';
export { adjustTtl, cacheForm } from './ttl.js';
export type { CacheForm } from './ttl.js';
export { encodeName } from './name.js';
