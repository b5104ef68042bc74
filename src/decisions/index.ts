export * from './types.js';
export { addInChunks, BULK_CHUNK, KERNEL_BACKLOG, SORTED_CHUNK, type BulkKernel, type BulkTarget } from './bulk-add.js';
export { EnforcementView, type AllowRange, type HostState, type RangeState } from './enforcement-view.js';
export { iterateImportText, parseImportText, type ImportLine, type ImportSkips, type ParsedImport } from './import-file.js';
export type { DecisionChange, DecisionService, FreshHost, StreamDelta } from './service.js';
export { InputError, openDecisionStore, type DecisionStore } from './store-service.js';
export { MAX_DURATION_SEC, durationProblem, expiryAfter } from './expiry.js';
export { decisionsModule } from './module.js';
export { ACTIVE_DECISION, RawStatements } from './sql.js';
