/**
 * The store's side of the dashboard and the collector, without a lab (issue #13), at a million rows:
 *
 *   node --import tsx bench/store-summary.ts [--rows 1000000] [--runs 5]
 *
 * - the migration that adds the hourly rollup and the covering remote index to a store made before them;
 * - the most-hit remotes' count (the worker's pass) with every block row inside the window;
 * - the summary the dashboard reads (rollup + the kept count);
 * - the total decision count the status asks for: after a change (recounted) and between changes (kept);
 * - a collector run's decision lookups: `covering()` for 1,000 remotes.
 * Medians of --runs. Writes bench/results/store-summary-latest.md. No root needed (temporary directory only).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDecisionStore } from '../src/decisions/store-service.js';
import { BlockEventRepo, openDb } from '../src/store/index.js';
import { ROOT } from './lib/daemon.js';
import { positiveInt } from './lib/args.js';
import { median, textTable } from './lib/stats.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' } } });
const ROWS = positiveInt('rows', values.rows);
const RUNS = positiveInt('runs', values.runs);
const ipOf = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
const FIRST = 20 << 24;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const log = (s: string) => process.stderr.write(`[store-summary] ${s}\n`);

async function timed(fn: () => unknown | Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-store-summary-'));
  try {
    const now = Date.now();
    log(`filling ${ROWS} decisions and ${ROWS} block rows, all inside the last 24 h`);
    {
      const db = openDb(dir);
      const dec = db.prepare(
        `INSERT INTO decisions (value, family, prefix, is_range, start, end, origin, scenario, reason, direction, created_at, expires_at)
         VALUES (?, 4, 32, 0, ?, ?, 'feed:x', '', 'listed', 'both', ?, NULL)`,
      );
      const ev = db.prepare(
        `INSERT INTO block_events (direction, client_ip, remote_ip, protocol, port, mode, first_seen, last_seen, count, bytes, domain)
         VALUES (?, ?, ?, 'tcp', 443, 'blocked', ?, ?, ?, 60, ?)`,
      );
      db.transaction(() => {
        for (let i = 0; i < ROWS; i++) {
          const b = Buffer.alloc(4);
          b.writeUInt32BE((FIRST + i) >>> 0);
          dec.run(ipOf(FIRST + i), b, b, now);
          const seen = now - 86_400_000 + Math.floor((i / ROWS) * 86_400_000);
          const c = i % 250;
          ev.run(i % 3 === 0 ? 'inbound' : 'outbound', `10.77.${1 + (c >> 8)}.${c & 255}`, ipOf(FIRST + ((i * 7919) % ROWS)), seen, seen, 1 + (i % 7), i % 10 === 0 ? `host-${i}.example` : null);
        }
      })();
      // Back to the schema before the rollup: the first step alone applied, the old remote index.
      db.exec(`DROP TABLE block_hourly; DROP INDEX block_events_by_remote; CREATE INDEX block_events_remote ON block_events(remote_ip);
               UPDATE schema_migrations SET applied = 1 WHERE module = 'store';`);
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    }

    log('migration');
    const migrationMs = await timed(() => openDb(dir).close());

    let db = openDb(dir);
    const repo = new BlockEventRepo(db);
    const since = now - 86_400_000 - 60_000;
    log('window counts (worker) and summaries');
    await repo.summary(since, { fresh: true }); // starts the worker thread
    const passes: number[] = [];
    const kept: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      passes.push(await timed(() => repo.summary(since, { fresh: true })));
      kept.push(await timed(() => repo.summary(since)));
    }
    await repo.close();
    db.close();

    log('decision count and covering()');
    const store = openDecisionStore(dir);
    const s = store.service;
    const afterChange: number[] = [];
    const between: number[] = [];
    const covering: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      s.add({ value: `198.18.0.${i + 1}`, origin: 'manual' });
      afterChange.push(await timed(() => s.count()));
      between.push(await timed(() => s.count()));
      covering.push(await timed(() => { for (let k = 0; k < 1000; k++) s.covering(ipOf(FIRST + ((k * 997 + i) % ROWS))); }));
    }
    store.close();

    const md = [
      '# Store: rollup migration, window counts, status count, collector lookups (bench/store-summary.ts)',
      '',
      `${new Date().toISOString()} · ${cpus().length} cores (${cpus()[0]?.model ?? '?'}) · load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`,
      '',
      '```',
      `node --import tsx bench/store-summary.ts --rows ${ROWS} --runs ${RUNS}`,
      '```',
      '',
      `${ROWS.toLocaleString('en')} decisions and ${ROWS.toLocaleString('en')} block rows, every block row inside the last 24 h. Medians of ${RUNS}.`,
      '',
      textTable(
        ['what', 'time'],
        [
          ['migration of a store made before the rollup: covering remote index + hourly backfill (once)', ms(migrationMs)],
          ['most-hit remotes counted anew (worker thread; summary?fresh=true)', ms(median(passes))],
          ['summary with the kept count (what a dashboard page reads)', ms(median(kept))],
          ['total decision count right after a change (recounted)', ms(median(afterChange))],
          ['total decision count between changes (kept; the expired ones taken off)', ms(median(between))],
          ['covering() for 1,000 remotes (one collector run of a flood)', ms(median(covering))],
        ],
      ),
      '',
    ].join('\n');
    writeFileSync(join(ROOT, 'bench', 'results', 'store-summary-latest.md'), md);
    process.stdout.write(md + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
