// The DNS filter's face: the rest of Gatehouse imports src/dns through this file only.
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
export { startQueryLogMaintenance, type QueryLogMaintenance, type QueryLogMaintenanceLog, type QueryLogMaintenanceOptions } from './querylog/maintenance.js';
export { QueryLogService } from './querylog/service.js';
