export { IpIndex, IpIndexError, type IpAllow, type IpDelta, type IpEntry, type IpHit, type IpIndexTransfer } from './ipindex/index.js';
export { IpIndexFeed, type IpIndexFeedOptions, type IpIndexSource, type IpIndexUpdate } from './ipindex/index.js';
export { addressKey, GRACE_SEC, ResolvedNames, type ResolvedNamesOptions, type ResolvedPair } from './resolved/index.js';
