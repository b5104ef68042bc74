export { DnsCache } from './cache.js';
export type { DnsCacheOptions, DnsCacheStats } from './cache.js';
