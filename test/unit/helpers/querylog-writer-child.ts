/**
 * A resolver worker's query-log writer alone in its own process, as the workers run it: forked with an IPC
 * channel, told `{ file, tag, count, mode, maxBuffered, burst }`, it pushes `count` records in bursts (the
 * event loop runs between them, as between datagrams), closes the writer and answers its stats.
 */
import { QueryLogWriter, type QueryLogMode, type QueryLogWriterStats } from '../../../src/dns/index.js';

export interface WriterJob {
  readonly file: string;
  readonly tag: string;
  readonly count: number;
  readonly mode: QueryLogMode;
  readonly maxBuffered: number;
  readonly burst: number;
  readonly batchRows?: number;
}
export interface WriterDone {
  readonly stats: QueryLogWriterStats;
}

process.once('message', (job: WriterJob) => {
  const w = new QueryLogWriter(job.file, job.mode, { maxBuffered: job.maxBuffered, flushIntervalMs: 50, ...(job.batchRows ? { batchRows: job.batchRows } : {}) });
  let i = 0;
  const step = () => {
    const end = Math.min(job.count, i + job.burst);
    for (; i < end; i++) {
      w.push({
        t: Date.now(),
        client: `10.0.${job.tag === 'a' ? 1 : 2}.${i % 200}`,
        mac: `02:00:00:00:00:${job.tag === 'a' ? '0a' : '0b'}`,
        clientName: `host-${job.tag}`,
        name: `n${i}.${job.tag}.example`,
        qtype: 1,
        rcode: 0,
        answer: '192.0.2.1',
        latencyUs: 120,
        cached: i % 2 === 0,
      });
    }
    if (i < job.count) setImmediate(step);
    else {
      void w.close().then(() => process.send!({ stats: w.stats() } satisfies WriterDone, () => process.exit(0)));
    }
  };
  step();
});
