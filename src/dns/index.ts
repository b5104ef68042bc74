// The DNS filter's face: the rest of Gatehouse imports src/dns through this file only.
export {
  parseUpstreamSpec,
  checkUpstreamSpec,
  UpstreamSpecError,
  type UpstreamSpec,
  type UpstreamProtocol,
  upstreamField,
  forwardDomainField,
  type Upstream,
  type TransportStats,
  type TransportOptions,
  createUpstream,
  UpstreamPool,
  AllUpstreamsFailed,
  UPSTREAM_STRATEGIES,
  type UpstreamStrategy,
  type PoolOptions,
  type UpstreamHealth,
  type Resolved,
  UpstreamRouter,
  normalizeDomain,
  type ForwardRule,
  type RouterConfig,
  UpstreamError,
} from './upstream/index.js';
export {
  QUERY_LOG_MODES,
  type BlockedBy,
  type ClientCount,
  type DnsLogQuery,
  type DnsLogResponse,
  type DnsTopQuery,
  type DnsTopResponse,
  type NameCount,
  type QueryFilter,
  type QueryLogEndpoints,
  type QueryLogMode,
  type QueryLogWriterStats,
  type QueryRecord,
  type QueryRow,
  type QueryTop,
  type QueryTotals,
  type TopFilter,
} from './querylog/types.js';
export { openQueryLogDb, queryLogMigrations, queryLogPath, QUERY_LOG_FILE } from './querylog/schema.js';
export { QueryLogWriter, type QueryLogWriterOptions } from './querylog/writer.js';
export { DEFAULT_LIST_LIMIT, DEFAULT_TOP_LIMIT, QUERY_LOG_RETENTION, QueryLogReader, type PruneOptions, type PruneResult } from './querylog/reader.js';
export { rcodeName, typeName } from './querylog/names.js';
export { MAX_LOG_LIMIT, MAX_TOP_LIMIT, queryLogRoutes, type QueryLogRouteDeps } from './querylog/routes.js';
export { dnsModule, dnsRef, type DnsView } from './module.js';
export { DNS_LATENCY_BOUNDS, latencyHistograms, type LatencyCounts } from './latency.js';
export { dnsSection, type DnsConfig, type DnsListConfig } from './config.js';
export { deviceGroups } from './groups.js';
export type { DnsApi, DnsCounters, DnsEndpoints, DnsExplain, DnsListStatus, DnsListsResponse, DnsOptoutResponse, DnsQueryQuery, DnsStatus, DnsWorkerStatus } from './types.js';
export { dnsMigrations } from './optout.js';
export * from './wire/index.js';
export * from './cache/index.js';
export * from './lists/index.js';
export { IpIndex, IpIndexError, type IpAllow, type IpDelta, type IpEntry, type IpHit, type IpIndexTransfer } from './ipindex/index.js';
export { startQueryLogMaintenance, type QueryLogMaintenance, type QueryLogMaintenanceLog, type QueryLogMaintenanceOptions } from './querylog/maintenance.js';
export { IpIndexFeed, type IpIndexFeedOptions, type IpIndexSource, type IpIndexUpdate } from './ipindex/index.js';
export { addressKey, GRACE_SEC, ResolvedNames, type ResolvedNamesOptions, type ResolvedPair } from './resolved/index.js';
export { QueryLogService } from './querylog/service.js';
