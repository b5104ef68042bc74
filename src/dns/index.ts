export { IpIndex, IpIndexError, type IpAllow, type IpDelta, type IpEntry, type IpHit, type IpIndexTransfer } from './ipindex/index.js';
