export type { FeedFormat, FeedSpec, FeedType, LineSample, ListFormat, ListHeader, ParseOptions, ParsedList } from './types.js';
export { LIST_FORMATS } from './types.js';
export { ListParser, parseList } from './parse.js';
export { specialReason } from './special.js';
export { checkRefresh, type GuardOptions, type GuardVerdict } from './guard.js';
export { diffEntries, type FeedDiff } from './diff.js';
export { DEFAULT_MAX_BYTES, FeedFetchError, fetchFeed, type FetchOptions, type FetchResult, type FetchState } from './fetch.js';
export { FeedRunner, type FeedChange, type FeedRunnerDeps, type RefreshReport } from './runner.js';
