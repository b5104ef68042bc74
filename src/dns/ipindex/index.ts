export { IpIndex, IpIndexError, type IpAllow, type IpDelta, type IpEntry, type IpHit, type IpIndexTransfer } from './ip-index.js';
export { IpIndexFeed, type IpIndexFeedOptions, type IpIndexSource, type IpIndexUpdate } from './feed.js';
