import type { Job, Scheduler } from '../../scheduler/index.js';
import { startCheckpointer, type Checkpointer } from '../../store/index.js';
import { QUERY_LOG_RETENTION, type PruneResult } from './reader.js';
import type { QueryLogService } from './service.js';

export interface QueryLogMaintenanceLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface QueryLogMaintenanceOptions {
  readonly log: Pick<QueryLogService, 'prune' | 'file'>;
  readonly scheduler: Scheduler;
  readonly logger: QueryLogMaintenanceLog;
  /** dns.query_log.retention; default 7 days. */
  readonly retentionMs?: number;
  /** dns.query_log.max_rows; default one million. */
  readonly maxRows?: number;
  /** How often retention runs; default every 10 minutes (and once right after the start). */
  readonly pruneEveryMs?: number;
  /** How often the WAL is copied into the file; default every 30 s. */
  readonly checkpointEveryMs?: number;
}

export interface QueryLogMaintenance {
  readonly prune: Job;
  readonly lastPrune: () => (PruneResult & { readonly at: number }) | null;
  stop(): Promise<void>;
}

/**
 * The daemon's upkeep of the query log: retention by age and row count, and the WAL checkpoint that the
 * workers leave out (they open the file without automatic checkpoints so none runs on an answer loop);
 * the checkpoint runs on a thread of its own (store's checkpointer), PASSIVE, so it waits for no worker.
 */
export function startQueryLogMaintenance(o: QueryLogMaintenanceOptions): QueryLogMaintenance {
  const retentionMs = o.retentionMs ?? QUERY_LOG_RETENTION.maxAgeMs;
  const maxRows = o.maxRows ?? QUERY_LOG_RETENTION.maxRows;
  let last: (PruneResult & { at: number }) | null = null;
  const prune = o.scheduler.every(
    'prune the DNS query log',
    o.pruneEveryMs ?? 600_000,
    async () => {
      const r = await o.log.prune(retentionMs, maxRows, { now: o.scheduler.clock.now() });
      last = { ...r, at: o.scheduler.clock.now() };
      if (r.byAge + r.byCap > 0) o.logger.debug({ ...r }, 'DNS query log pruned');
    },
    { firstRunInMs: 0 },
  );
  const checkpointer: Checkpointer = startCheckpointer(o.log.file, o.checkpointEveryMs ?? 30_000, o.logger, { scheduler: o.scheduler });
  return {
    prune,
    lastPrune: () => last,
    async stop() {
      await prune.stop();
      await checkpointer.stop();
    },
  };
}
