export { addressKey, GRACE_SEC, ResolvedNames, type ResolvedNamesOptions, type ResolvedPair } from './resolved-names.js';
