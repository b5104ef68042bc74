export { IpIndex, IpIndexError, type IpAllow, type IpDelta, type IpEntry, type IpHit, type IpIndexTransfer } from './ip-index.js';
