/**
 * Where the time of one `decisions import` goes: the daemon's own steps run in-process, one after the
 * other, on the real modules (real SQLite file, real nft inside a private namespace):
 *
 *   parse text → SQLite insert (addMany) → EnforcementView.hostsInserted → render nft script → nft -f
 *
 *   node --import tsx bench/profile-import.ts --size 100000
 *
 * Alternative queries for the enforcement step are timed next to the current one, so a proposed change
 * comes with its figure.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseImportText } from '../src/decisions/import-file.js';
import { openDecisionStore } from '../src/decisions/store-service.js';
import { EnforcementView } from '../src/decisions/enforcement-view.js';
import type { DecisionChange } from '../src/decisions/service.js';
import { Enforcer } from '../src/firewall/enforcer.js';
import { renderSkeleton } from '../src/firewall/ruleset.js';
import type { NftRunner } from '../src/firewall/nft.js';
import { randomPublicIPv4 } from './lib/ips.js';
import { BenchNamespace } from './lib/netns.js';
import { countElements } from './lib/kernel.js';
import { formatCount, secs, textTable } from './lib/stats.js';

interface Step {
  readonly step: string;
  readonly ms: number;
  readonly note?: string;
}

function timed<T>(steps: Step[], step: string, f: () => T, note?: string): T {
  const t0 = performance.now();
  const out = f();
  steps.push({ step, ms: performance.now() - t0, note });
  return out;
}

async function timedAsync<T>(steps: Step[], step: string, f: () => Promise<T>, note?: string): Promise<T> {
  const t0 = performance.now();
  const out = await f();
  steps.push({ step, ms: performance.now() - t0, note });
  return out;
}

/** Never called for real: renderChanges only needs the view; the nft run is timed separately. */
const noNft: NftRunner = {
  apply: () => Promise.reject(new Error('not used')),
  listSet: () => Promise.resolve(undefined),
  hasTable: () => Promise.resolve(false),
};

export async function profileImport(size: number, opts: { cacheMb?: number; dropValueIndex?: boolean } = {}): Promise<Step[]> {
  const steps: Step[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'ghbench-prof-'));
  const ns = await BenchNamespace.create(`ghbench-prof-${process.pid}`);
  try {
    const text = randomPublicIPv4(size).join('\n') + '\n';
    const parsed = timed(steps, 'parse text (parseImportText)', () => parseImportText(text));
    const store = openDecisionStore(join(dir, 'data'));
    // Experiments for proposals: a bigger page cache, and without the index that decisions_active_key covers.
    if (opts.cacheMb) store.db.pragma(`cache_size = -${opts.cacheMb * 1024}`);
    if (opts.dropValueIndex) store.db.exec('DROP INDEX IF EXISTS decisions_value');
    const variant = [opts.cacheMb ? `cache_size ${opts.cacheMb} MB` : 'default cache', opts.dropValueIndex ? 'without decisions_value' : 'indexes of src/store/db.ts'].join(', ');
    const changes: DecisionChange[] = [];
    store.events.subscribe('decisions.changed', (c) => changes.push(c));
    const items = parsed.items.map((it) => ({ value: it.value, origin: 'manual', direction: 'both' as const, reason: it.comment ?? 'imported', scenario: 'import' }));
    const r = timed(steps, 'SQLite insert (addMany, one transaction)', () => store.service.addMany(items), `${formatCount(size)} rows; ${variant}`);
    if (r.added !== size) throw new Error(`added ${r.added} of ${size}`);
    const c = changes[0]!;

    const view = new EnforcementView(store.db);
    const hosts = timed(steps, 'EnforcementView.hostsInserted (current query)', () => [...view.hostsInserted(c.insertedFrom, c.insertedTo)].length);
    if (hosts !== size) throw new Error(`hostsInserted gave ${hosts} of ${size}`);
    const plan = store.db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT value FROM decisions WHERE is_range = 0 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > 0)
           AND value IN (SELECT value FROM decisions WHERE id BETWEEN 1 AND 2 AND is_range = 0) GROUP BY value`,
      )
      .all() as { detail: string }[];
    steps.push({ step: '  its query plan', ms: Number.NaN, note: plan.map((p) => p.detail).join(' | ') });

    // Proposed: read the inserted rows by id range (rowid range scan), then aggregate only the few values
    // that have other active decisions too (none in a first import), found through decisions_value.
    const proposed = timed(
      steps,
      'proposed: rows by id range + other-decision check',
      () => {
        const rows = store.db
          .prepare(`SELECT id, value, family, direction, expires_at FROM decisions WHERE id BETWEEN ? AND ? AND is_range = 0 AND deleted_at IS NULL`)
          .all(c.insertedFrom, c.insertedTo) as { id: number; value: string }[];
        const other = store.db.prepare(`SELECT 1 FROM decisions WHERE value = ? AND deleted_at IS NULL AND id NOT BETWEEN ? AND ? LIMIT 1`);
        let shared = 0;
        for (const row of rows) if (other.get(row.value, c.insertedFrom, c.insertedTo)) shared++;
        return rows.length - shared;
      },
      'per-row indexed probe instead of IN + GROUP BY over the table',
    );
    if (proposed !== size) throw new Error(`proposed query gave ${proposed}`);

    const enforcer = new Enforcer(view, noNft, { table: 'gatehouse', lan: [BenchNamespace.LAN], wan: [BenchNamespace.WAN], inbound: 'enforce', outbound: 'enforce', hitTimeoutSec: 60, hitSetSize: 65536 }, {
      info: () => undefined,
      error: () => undefined,
    });
    const script = timed(steps, 'Enforcer.renderChanges (query + text)', () => enforcer.renderChanges(changes), 'includes hostsInserted again');
    const skeleton = renderSkeleton({ table: 'gatehouse', lan: [BenchNamespace.LAN], wan: [BenchNamespace.WAN], inbound: 'enforce', outbound: 'enforce', hitTimeoutSec: 60, hitSetSize: 65536 });
    await writeFile(join(dir, 'skeleton.nft'), skeleton + '\n');
    await ns.nft(['-f', join(dir, 'skeleton.nft')]);
    await writeFile(join(dir, 'changes.nft'), script);
    await timedAsync(steps, 'nft -f of that script', () => ns.nft(['-f', join(dir, 'changes.nft')]), `${(script.length / 1e6).toFixed(1)} MB of script`);
    const inKernel = await countElements(ns, 'gatehouse', 'both_ip4').catch(() => Number.NaN);
    steps.push({ step: 'check: elements in both_ip4', ms: Number.NaN, note: formatCount(inKernel) });
    store.close();
  } finally {
    await ns.remove();
    await rm(dir, { recursive: true, force: true });
  }
  return steps;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { size: { type: 'string', default: '100000' }, 'cache-mb': { type: 'string' }, 'drop-value-index': { type: 'boolean' } } });
  const size = Number(values.size);
  if (process.getuid?.() !== 0) {
    console.error('profile-import: needs root (network namespace, nft)');
    process.exit(1);
  }
  profileImport(size, { cacheMb: values['cache-mb'] ? Number(values['cache-mb']) : undefined, dropValueIndex: values['drop-value-index'] }).then(
    (steps) => console.log(`decisions import of ${formatCount(size)}, step by step\n\n${textTable(['step', 'time', 'note'], steps.map((s) => [s.step, Number.isNaN(s.ms) ? '' : secs(s.ms), s.note ?? '']))}`),
    (e: unknown) => {
      console.error(`profile-import: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
