import type { Statement } from 'better-sqlite3';
import { openDb, type Db } from '../store/index.js';
import type { Migrations } from '../store/index.js';
import { Where } from '../store/index.js';
import { ACTIVE_DECISION } from './sql.js';
import { parseTarget, tryParseTarget, InvalidTargetError, type Target } from '../net/ip.js';
import type { DecisionChange, DecisionService, StreamDelta } from './service.js';
import { createEventBus, type EventBus, type EventPublisher } from '../events/index.js';
import { BatchWriter, type BatchOutcome, type BatchRow } from './batch-writer.js';
import { MAX_DURATION_SEC } from './expiry.js';
import {
  DECISION_COLS,
  InputError,
  MAX_SAMPLES,
  checkDirection,
  cleanText,
  expiryFrom,
  memoClean,
  toAllow,
  toDecision,
  type AllowRow,
  type DecisionRow,
} from './rows.js';
import {
  type AllowEntry,
  type Decision,
  type DecisionFilter,
  type ImportResult,
  type NewAllowEntry,
  type NewDecision,
} from './types.js';

const ACTIVE = ACTIVE_DECISION;

/**
 * SQLite-backed decision store. Every write is one transaction; listeners learn what changed afterwards,
 * so a crash between the write and enforcement is repaired by the reconcile at the next start.
 */
class SqliteDecisionService implements DecisionService {
  private readonly s: {
    retire: Statement;
    insert: Statement;
    byId: Statement;
    activeByValue: Statement;
    retireById: Statement;
    allowInsert: Statement;
  };

  constructor(private readonly db: Db, private readonly clock: () => number, private readonly events: EventPublisher) {
    this.s = {
      retire: db.prepare(
        `UPDATE decisions SET deleted_at = @now WHERE value = @value AND origin = @origin AND scenario = @scenario AND deleted_at IS NULL`,
      ),
      insert: db.prepare(
        `INSERT INTO decisions (value, family, prefix, is_range, start, end, origin, scenario, reason, direction, created_at, expires_at)
         VALUES (@value, @family, @prefix, @is_range, @start, @end, @origin, @scenario, @reason, @direction, @now, @expires_at)`,
      ),
      byId: db.prepare(`SELECT ${DECISION_COLS} FROM decisions WHERE id = ? AND deleted_at IS NULL`),
      activeByValue: db.prepare(`SELECT ${DECISION_COLS} FROM decisions WHERE value = @value AND ${ACTIVE}`),
      retireById: db.prepare(`UPDATE decisions SET deleted_at = @now WHERE id = @id AND deleted_at IS NULL`),
      allowInsert: db.prepare(
        `INSERT INTO allow_entries (value, family, prefix, start, end, reason, created_at, expires_at)
         VALUES (@value, @family, @prefix, @start, @end, @reason, @now, @expires_at)
         ON CONFLICT(value) DO UPDATE SET reason = excluded.reason, expires_at = excluded.expires_at
         RETURNING id, value, family, prefix, reason, created_at, expires_at`,
      ),
    };
  }

  add(d: NewDecision): Decision {
    const now = this.clock();
    const t = parseTarget(d.value);
    const before = this.maxId();
    let retired = 0;
    let others = false;
    const id = this.db.transaction(() => {
      const row = this.rowFor(t, d, now);
      retired = this.s.retire.run(row).changes;
      // Unswept expired rows count too: their element may still sit in the kernel, and adding over it
      // would keep its old timeout on kernels where `add` leaves an existing element alone.
      others = this.db.prepare('SELECT 1 FROM decisions WHERE value = ? AND deleted_at IS NULL LIMIT 1').get(t.text) !== undefined;
      return Number(this.s.insert.run(row).lastInsertRowid);
    })();
    this.emit({
      insertedFrom: before + 1,
      insertedTo: id,
      removedValues: retired > 0 ? [t.text] : [],
      contendedValues: others ? [t.text] : [],
      allowChanged: false,
    });
    return toDecision(this.s.byId.get(id) as DecisionRow);
  }

  addMany(ds: Iterable<NewDecision>): ImportResult {
    const r = this.insertBatch(ds, undefined);
    return { added: r.added, updated: r.updated, skipped: r.skipped, skippedSamples: r.skippedSamples };
  }

  replaceOrigin(origin: string, ds: Iterable<NewDecision>): ImportResult & { readonly removed: number } {
    return this.insertBatch(ds, origin);
  }

  /**
   * One transaction for a whole batch. With `replaceOrigin`, values of that origin that are absent from the
   * batch are retired, and values present with identical fields are left alone so a feed refresh that
   * changes nothing writes nothing.
   */
  private insertBatch(ds: Iterable<NewDecision>, replaceOrigin: string | undefined): ImportResult & { removed: number } {
    const now = this.clock();
    const before = this.maxId();
    let skipped = 0;
    let removed = 0;
    const samples: { line: number; text: string; why: string }[] = [];
    let out: BatchOutcome | undefined;
    this.db.transaction(() => {
      let keep: Statement | undefined;
      if (replaceOrigin !== undefined) {
        this.db.exec('CREATE TEMP TABLE IF NOT EXISTS batch_keep (id INTEGER PRIMARY KEY)');
        this.db.exec('DELETE FROM batch_keep');
        keep = this.db.prepare('INSERT OR IGNORE INTO batch_keep (id) VALUES (?)');
      }
      const writer = new BatchWriter(this.db, now, keep ? (id) => keep.run(id) : undefined);
      const clean = memoClean();
      let line = 0;
      for (const d of ds) {
        line++;
        const t = d.target ?? tryParseTarget(d.value);
        if (!t) {
          skipped++;
          if (samples.length < MAX_SAMPLES) samples.push({ line, text: String(d.value).slice(0, 80), why: 'not an IP address or CIDR range' });
          continue;
        }
        if (replaceOrigin !== undefined && d.origin !== replaceOrigin) throw new InputError(`replaceOrigin(${replaceOrigin}) got a decision of origin ${d.origin}`);
        let row: BatchRow;
        try {
          const origin = clean(d.origin, 'origin');
          if (origin.length === 0) throw new InputError('origin must not be empty');
          row = {
            target: t,
            origin,
            scenario: clean(d.scenario, 'scenario'),
            reason: clean(d.reason, 'reason'),
            direction: checkDirection(d.direction),
            expiresAt: expiryFrom(d.durationSec, now),
          };
        } catch (e) {
          skipped++;
          if (samples.length < MAX_SAMPLES) samples.push({ line, text: d.value.slice(0, 80), why: (e as Error).message });
          continue;
        }
        writer.add(row);
      }
      writer.flush();
      out = writer.outcome;
      if (replaceOrigin !== undefined) {
        // Rows inserted by this batch have ids above `before`; older ones of the origin survive only if kept.
        const gone = this.db
          .prepare(
            `UPDATE decisions SET deleted_at = @now WHERE origin = @origin AND deleted_at IS NULL AND id <= @before AND id NOT IN (SELECT id FROM batch_keep) RETURNING value`,
          )
          .all({ origin: replaceOrigin, now, before }) as { value: string }[];
        removed = gone.length;
        for (const g of gone) out.removedValues.push(g.value);
        this.db.exec('DELETE FROM batch_keep');
      }
    })();
    const { added, updated, removedValues, contended, fresh } = out!;
    const after = this.maxId();
    if (after > before || removedValues.length > 0) {
      this.emit({ insertedFrom: before + 1, insertedTo: after, removedValues, contendedValues: contended, freshHosts: fresh, allowChanged: false });
    }
    return { added, updated, skipped, skippedSamples: samples, removed };
  }

  private rowFor(t: Target, d: NewDecision, now: number) {
    const origin = cleanText(d.origin, 'origin');
    if (origin.length === 0) throw new InputError('origin must not be empty');
    return {
      value: t.text,
      family: t.family,
      prefix: t.prefix,
      is_range: t.isHost ? 0 : 1,
      start: t.start,
      end: t.end,
      origin,
      scenario: cleanText(d.scenario, 'scenario'),
      reason: cleanText(d.reason, 'reason'),
      direction: checkDirection(d.direction),
      now,
      expires_at: expiryFrom(d.durationSec, now),
    };
  }

  get(id: number): Decision | undefined {
    const r = this.db.prepare(`SELECT ${DECISION_COLS} FROM decisions WHERE id = @id AND ${ACTIVE}`).get({ id, now: this.clock() }) as
      | DecisionRow
      | undefined;
    return r ? toDecision(r) : undefined;
  }

  private where(filter: DecisionFilter | undefined): Where {
    const where = new Where(ACTIVE, { now: this.clock() })
      .andIf('origin', filter?.origin)
      .andIf('direction', filter?.direction, filter?.direction === 'both' ? "direction = 'both'" : `direction IN (@direction, 'both')`)
      .andIf('afterId', filter?.afterId, 'id > @afterId');
    if (filter?.scope !== undefined) where.and(filter.scope === 'range' ? 'is_range = 1' : 'is_range = 0');
    if (filter?.value !== undefined) {
      const t = parseTarget(filter.value);
      // Equal, containing, or contained: what an admin means by "decisions about this address or range".
      where.and('family = @family AND ((start <= @start AND end >= @end) OR (start >= @start AND end <= @end))', { family: t.family, start: t.start, end: t.end });
    }
    return where;
  }

  list(filter?: DecisionFilter): Decision[] {
    const where = this.where(filter);
    const limit = filter?.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(filter.limit))}` : '';
    const rows = this.db.prepare(`SELECT ${DECISION_COLS} FROM decisions ${where} ORDER BY id${limit}`).all(where.params) as DecisionRow[];
    return rows.map(toDecision);
  }

  count(filter?: DecisionFilter): number {
    if (filter === undefined || Object.values(filter).every((v) => v === undefined)) return this.countActive();
    const where = this.where(filter);
    return (this.db.prepare(`SELECT count(*) AS n FROM decisions ${where}`).get(where.params) as { n: number }).n;
  }

  delete(id: number): Decision | undefined {
    const d = this.get(id);
    if (!d) return undefined;
    this.s.retireById.run({ id, now: this.clock() });
    this.emit({ insertedFrom: 1, insertedTo: 0, removedValues: [d.value], allowChanged: false });
    return d;
  }

  deleteWhere(filter: { value?: string; origin?: string; scenario?: string }): Decision[] {
    // An empty value is no filter: `?scenario=` must not mean "every decision without a scenario".
    for (const [k, v] of Object.entries(filter)) {
      if (typeof v === 'string' && v.trim() === '') throw new InputError(`${k}: empty value; leave the filter out or give a value`);
    }
    const where = new Where(ACTIVE, { now: this.clock() })
      .andIf('value', filter.value === undefined ? undefined : parseTarget(filter.value).text)
      .andIf('origin', filter.origin)
      .andIf('scenario', filter.scenario);
    if (where.size === 1) throw new InputError('refusing to delete every decision: give a value, origin or scenario');
    const rows = this.db.prepare(`UPDATE decisions SET deleted_at = @now ${where} RETURNING ${DECISION_COLS}`).all(where.params) as DecisionRow[];
    if (rows.length > 0) {
      this.emit({ insertedFrom: 1, insertedTo: 0, removedValues: [...new Set(rows.map((r) => r.value))], allowChanged: false });
    }
    return rows.map(toDecision);
  }

  deleteValues(origin: string, values: readonly string[]): number {
    if (values.length === 0) return 0;
    const now = this.clock();
    const retire = this.db.prepare('UPDATE decisions SET deleted_at = @now WHERE value = @value AND origin = @origin AND deleted_at IS NULL');
    const removed: string[] = [];
    this.db.transaction(() => {
      for (const value of values) if (retire.run({ value, origin, now }).changes > 0) removed.push(value);
    })();
    if (removed.length > 0) this.emit({ insertedFrom: 1, insertedTo: 0, removedValues: removed, allowChanged: false });
    return removed.length;
  }

  *valuesOf(origin: string): Generator<string> {
    const q = this.db.prepare(`SELECT value FROM decisions WHERE origin = @origin AND ${ACTIVE}`).pluck();
    for (const v of q.iterate({ origin, now: this.clock() })) yield v as string;
  }

  covering(value: string): Decision[] {
    const t = parseTarget(value);
    const now = this.clock();
    // Prepared once: the collector asks for every remote of a run (a thousand a second in a flood), and compiling
    // this statement cost more than running it.
    this.coveringStmt ??= this.db.prepare(
      `SELECT ${DECISION_COLS} FROM decisions WHERE value = @value AND ${ACTIVE}
       UNION
       SELECT ${DECISION_COLS} FROM decisions
         WHERE is_range = 1 AND deleted_at IS NULL AND family = @family AND start <= @start AND end >= @end
           AND (expires_at IS NULL OR expires_at > @now)
       ORDER BY id`,
    );
    const rows = this.coveringStmt.all({ value: t.text, family: t.family, start: t.start, end: t.end, now }) as DecisionRow[];
    return rows.map(toDecision);
  }

  changesSince(since: number | undefined, now = this.clock()): StreamDelta {
    if (since === undefined) return { new: this.list(), deleted: [] };
    const added = this.db
      // Ordered by created_at so SQLite walks the created_at index instead of scanning every row.
      .prepare(`SELECT ${DECISION_COLS} FROM decisions WHERE created_at > @since AND ${ACTIVE} ORDER BY created_at, id`)
      .all({ since, now }) as DecisionRow[];
    const deleted = this.db
      .prepare(
        `SELECT ${DECISION_COLS} FROM decisions
           WHERE (deleted_at > @since AND deleted_at <= @now)
              OR (deleted_at IS NULL AND expires_at > @since AND expires_at <= @now)
           ORDER BY id`,
      )
      .all({ since, now }) as DecisionRow[];
    return { new: added.map(toDecision), deleted: deleted.map(toDecision) };
  }

  addAllow(a: NewAllowEntry): AllowEntry {
    const t = parseTarget(a.value);
    const now = this.clock();
    const row = this.s.allowInsert.get({
      value: t.text,
      family: t.family,
      prefix: t.prefix,
      start: t.start,
      end: t.end,
      reason: cleanText(a.reason, 'reason'),
      now,
      expires_at: expiryFrom(a.durationSec, now),
    }) as AllowRow;
    this.emit({ insertedFrom: 1, insertedTo: 0, removedValues: [], allowChanged: true });
    return toAllow(row);
  }

  listAllow(): AllowEntry[] {
    return (
      this.db
        .prepare('SELECT id, value, family, prefix, reason, created_at, expires_at FROM allow_entries WHERE expires_at IS NULL OR expires_at > ? ORDER BY id')
        .all(this.clock()) as AllowRow[]
    ).map(toAllow);
  }

  deleteAllow(idOrValue: number | string): AllowEntry | undefined {
    const row =
      typeof idOrValue === 'number'
        ? this.db.prepare('DELETE FROM allow_entries WHERE id = ? RETURNING id, value, family, prefix, reason, created_at, expires_at').get(idOrValue)
        : this.db
            .prepare('DELETE FROM allow_entries WHERE value = ? RETURNING id, value, family, prefix, reason, created_at, expires_at')
            .get(parseTarget(idOrValue).text);
    if (!row) return undefined;
    this.emit({ insertedFrom: 1, insertedTo: 0, removedValues: [], allowChanged: true });
    return toAllow(row as AllowRow);
  }

  allowCovering(value: string): AllowEntry[] {
    const t = parseTarget(value);
    return (
      this.db
        .prepare(
          `SELECT id, value, family, prefix, reason, created_at, expires_at FROM allow_entries
           WHERE family = @family AND start <= @start AND end >= @end AND (expires_at IS NULL OR expires_at > @now) ORDER BY id`,
        )
        .all({ family: t.family, start: t.start, end: t.end, now: this.clock() }) as AllowRow[]
    ).map(toAllow);
  }

  expire(now = this.clock()): Decision[] {
    const rows = this.db
      .prepare(
        `UPDATE decisions SET deleted_at = expires_at WHERE deleted_at IS NULL AND expires_at IS NOT NULL AND expires_at <= @now RETURNING ${DECISION_COLS}`,
      )
      .all({ now }) as DecisionRow[];
    const allowGone = this.db.prepare('DELETE FROM allow_entries WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now).changes;
    if (rows.length > 0 || allowGone > 0) {
      this.emit({ insertedFrom: 1, insertedTo: 0, removedValues: [...new Set(rows.map((r) => r.value))], allowChanged: allowGone > 0, expired: true });
    }
    return rows.map(toDecision);
  }

  /** Soft-deleted rows are kept for the CrowdSec stream's `deleted` lists; purge them once nobody can need them. */
  purgeDeleted(olderThan: number): number {
    return this.db.prepare('DELETE FROM decisions WHERE deleted_at IS NOT NULL AND deleted_at < ?').run(olderThan).changes;
  }

  private maxId(): number {
    return (this.db.prepare('SELECT coalesce(max(id), 0) AS m FROM decisions').get() as { m: number }).m;
  }

  /**
   * All active decisions. The status asks on every call, and counting a million rows takes ~30 ms of the daemon's
   * one thread (~125 ms with the expiry test on each row): so the undeleted rows are counted once per change (every
   * write emits, see emit; and at least once a minute, should a write ever not) and the expired-but-unswept ones,
   * few and indexed, are taken off at each call.
   */
  private countActive(): number {
    const at = this.clock();
    if (this.undeleted?.version !== this.version || at - this.undeleted.at > 60_000) {
      const n = (this.db.prepare('SELECT count(*) AS n FROM decisions WHERE deleted_at IS NULL').get() as { n: number }).n;
      this.undeleted = { version: this.version, n, at };
    }
    const expired = this.db
      .prepare('SELECT count(*) AS n FROM decisions WHERE deleted_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?')
      .get(at) as { n: number };
    return this.undeleted.n - expired.n;
  }

  private coveringStmt: Statement | undefined;
  private version = 0;
  private undeleted?: { readonly version: number; readonly n: number; readonly at: number };

  private emit(c: DecisionChange): void {
    this.version++;
    this.events.publish('decisions.changed', c);
  }
}

export interface DecisionStore {
  readonly service: DecisionService;
  readonly db: Db;
  /** Where the store announces `decisions.changed`: the daemon's bus, or one of its own. */
  readonly events: EventBus;
  close(): void;
}

/**
 * Stores written before durations were checked may hold an infinite or unsafe expiry (a JSON duration of
 * 1e308 became Infinity); they are brought within the maximum once, at open, so nothing downstream (the
 * kernel, the CrowdSec stream's Go durations) ever sees one.
 */
function clampStoredExpiries(db: Db, now: number): void {
  const cap = now + MAX_DURATION_SEC * 1000;
  // A scan (deleted rows too: the stream lists them): measured 147 ms on a store of 1M decisions.
  db.prepare('UPDATE decisions SET expires_at = @cap WHERE expires_at > @cap').run({ cap });
  db.prepare('UPDATE allow_entries SET expires_at = @cap WHERE expires_at > @cap').run({ cap });
}

/** `migrations`: the schemas of the other modules sharing this database, applied after the core one. */
export function openDecisionStore(dataDir: string, opts: { clock?: () => number; migrations?: readonly Migrations[]; events?: EventBus } = {}): DecisionStore {
  const db = openDb(dataDir, undefined, opts.migrations);
  clampStoredExpiries(db, (opts.clock ?? Date.now)());
  const events = opts.events ?? createEventBus();
  const service = new SqliteDecisionService(db, opts.clock ?? Date.now, events);
  return { service, db, events, close: () => db.close() };
}

export { InputError, InvalidTargetError };
