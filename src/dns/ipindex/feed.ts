import type { DecisionChange, OutboundRow } from '../../decisions/index.js';
import type { EventSource, Unsubscribe } from '../../events/index.js';
import { IpIndex, type IpAllow, type IpDelta, type IpEntry } from './ip-index.js';
import { wins } from './range-table.js';

/** What the feed reads: decisions/OutboundView (the store's outbound decisions and the allowlist). */
export interface IpIndexSource {
  maxId(): number;
  page(afterId: number, upTo: number, limit: number): OutboundRow[];
  inserted(from: number, to: number): OutboundRow[];
  best(values: Iterable<string>): Map<string, OutboundRow>;
  allow(): readonly { value: string; expiresAt: number | null }[];
}

/** What the workers must hear: a whole index (at the start, after a very large change) or a delta. */
export type IpIndexUpdate = { readonly kind: 'snapshot'; readonly index: IpIndex } | { readonly kind: 'delta'; readonly delta: IpDelta };

export interface IpIndexFeedOptions {
  /** Called with every snapshot and delta, in order; forward them to the resolver workers. */
  readonly onUpdate: (u: IpIndexUpdate) => void;
  readonly log?: { warn(o: object, m: string): void; info(o: object, m: string): void };
  /** Rows read (and entries applied) per step; the event loop gets a turn between steps. */
  readonly pageSize?: number;
  /** A change inserting more rows than this and than the index holds is read afresh from the store. */
  readonly snapshotAbove?: number;
  /** Changes are collected this long (ms) before they are worked off: an import's chunks become one update. */
  readonly windowMs?: number;
  /**
   * A coalesced change of more entries than this (or one that rebuilds the range segments) reaches the
   * workers as a new snapshot, which a worker adopts by swapping one reference, instead of a delta it would
   * have to apply while its queries wait.
   */
  readonly deltaMax?: number;
  /**
   * After a snapshot the next update waits 20× what sending it took (serializing it for the workers), at
   * most this long (ms): an import's snapshots cost the workers ~5 % of their time at worst, and the last
   * one follows the import's end closely.
   */
  readonly snapshotGapMs?: number;
}

const PAGE = 5000;
const SNAPSHOT_ABOVE = 200_000;
const WINDOW_MS = 250;
/** ~2,000 entries apply in a worker in a few ms (text parsing and hash inserts), far below a snapshot's adoption. */
const DELTA_MAX = 2000;
const SNAPSHOT_GAP_MS = 2000;
const GAP_FACTOR = 20;

function entryOf(r: OutboundRow): IpEntry {
  return { target: r.value, origin: r.origin, scenario: r.scenario, reason: r.reason, decisionId: r.id, expiresAt: r.expiresAt };
}

function allowOf(rows: readonly { value: string; expiresAt: number | null }[]): IpAllow[] {
  return rows.map((a) => ({ target: a.value, expiresAt: a.expiresAt }));
}

const words = new Uint32Array(4);

function expKey(ms: number | null): number {
  return ms === null ? 0 : Math.ceil(ms / 1000);
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

class Stopped extends Error {}

/**
 * Daemon side of the IP index: builds it from the store's active outbound decisions and the allowlist,
 * then turns `decisions.changed` into updates for the workers (read back from the store by id range and by
 * value, as the firewall's enforcer does). Keeps its own copy current, so a worker that starts later gets
 * `current().toTransfer()`. A change is only recorded inside the bus's call (must-see subscribers must
 * return at once) and worked off later: changes are collected for `windowMs`, read in steps that yield,
 * and applied to the daemon's copy in steps; a small result goes to the workers as a delta, a large one
 * (or one that rebuilt the range segments) as the daemon's copy, a snapshot. So a bulk import costs a
 * worker a few reference swaps rather than minutes of rebuilding segments while queries wait.
 */
export class IpIndexFeed {
  private index: IpIndex | undefined;
  private pending: DecisionChange[] = [];
  private timer: NodeJS.Timeout | undefined;
  private working: Promise<void> | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private stopped = false;
  /** No snapshot for changes before this (epoch ms). */
  private quietUntil = 0;
  private readonly pageSize: number;
  private readonly snapshotAbove: number;
  private readonly windowMs: number;
  private readonly deltaMax: number;
  private readonly snapshotGapMs: number;

  constructor(private readonly source: IpIndexSource, private readonly bus: EventSource, private readonly opts: IpIndexFeedOptions) {
    this.pageSize = opts.pageSize ?? PAGE;
    this.snapshotAbove = opts.snapshotAbove ?? SNAPSHOT_ABOVE;
    this.windowMs = opts.windowMs ?? WINDOW_MS;
    this.deltaMax = opts.deltaMax ?? DELTA_MAX;
    this.snapshotGapMs = opts.snapshotGapMs ?? SNAPSHOT_GAP_MS;
  }

  /** Subscribes, builds the first index (in steps), hands it to onUpdate and returns it. */
  async start(): Promise<IpIndex> {
    this.unsubscribe = this.bus.subscribe('decisions.changed', (c) => this.note(c), 'dns ip index');
    const first = this.rebuild();
    this.working = first;
    try {
      await first;
    } finally {
      // The first build is not an import's: a change right after the start goes out at once.
      this.quietUntil = 0;
      this.working = undefined;
      this.schedule();
    }
    return this.index!;
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
  }

  /** The daemon's copy, current with every update sent so far (undefined before the first build ends). */
  current(): IpIndex | undefined {
    return this.index;
  }

  /** Resolves once every change recorded so far has been sent (tests, and a caller that wants to be sure). */
  async settled(): Promise<void> {
    while (!this.stopped && (this.working || this.pending.length > 0 || this.timer)) {
      if (this.working) await this.working;
      else await new Promise((r) => setTimeout(r, 5));
    }
  }

  private note(c: DecisionChange): void {
    if (this.stopped) return;
    this.pending.push(c);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.working || this.stopped || this.pending.length === 0 || !this.index) return;
    const wait = Math.max(this.windowMs, this.quietUntil - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.working = this.flush()
        .catch((e: Error) => {
          if (e instanceof Stopped || this.stopped) return;
          // A store read failing here must not leave the workers silently behind: start over from the store.
          this.opts.log?.warn({ err: e.message }, 'IP index update failed; rebuilding from the store');
          return this.rebuild().catch((e2: Error) => this.opts.log?.warn({ err: e2.message }, 'IP index rebuild failed; DNS answers keep the previous index'));
        })
        .finally(() => {
          this.working = undefined;
          this.schedule();
        });
    }, wait);
  }

  private async step(): Promise<void> {
    await turn();
    if (this.stopped) throw new Stopped();
  }

  /** A fresh index from the store, read in steps; changes meanwhile are queued and applied after. */
  private async rebuild(): Promise<void> {
    const upTo = this.source.maxId();
    const ix = new IpIndex();
    let after = 0;
    for (;;) {
      const rows = this.source.page(after, upTo, this.pageSize);
      for (const r of rows) {
        for (let i = 0; i < r.start.length / 4; i++) words[i] = r.start.readUInt32BE(i * 4);
        ix.putWords(r.family, words, r.prefix, r.origin, r.scenario, r.reason, r.id, r.expiresAt);
      }
      if (rows.length < this.pageSize) break;
      after = rows[rows.length - 1]!.id;
      await turn();
      if (this.stopped) return;
    }
    for (const a of allowOf(this.source.allow())) ix.putAllow(a);
    ix.seal();
    this.index = ix;
    this.sendSnapshot(ix);
  }

  private sendSnapshot(ix: IpIndex): void {
    const t0 = performance.now();
    this.opts.onUpdate({ kind: 'snapshot', index: ix });
    const sendMs = performance.now() - t0;
    this.quietUntil = Date.now() + Math.min(this.snapshotGapMs, Math.max(this.windowMs, GAP_FACTOR * sendMs));
  }

  private async flush(): Promise<void> {
    const ix = this.index;
    if (this.stopped || !ix) return;
    const changes = this.pending;
    this.pending = [];
    if (changes.length === 0) return;
    let inserted = 0;
    for (const c of changes) inserted += Math.max(0, c.insertedTo - c.insertedFrom + 1);
    const size = ix.size;
    // Reading the store afresh costs about what reading the change does once the change outgrows the index.
    if (inserted > Math.max(this.snapshotAbove, size.hosts + size.ranges)) {
      await this.rebuild();
      return;
    }
    const delta = await this.deltaOf(changes);
    const n = delta.add.length + delta.remove.length;
    if (n === 0 && !delta.allow) return;
    if (n <= this.deltaMax) {
      // A delta that made the daemon's copy rebuild its segments would make every worker do the same.
      if (!ix.apply(delta)) {
        this.opts.onUpdate({ kind: 'delta', delta });
        return;
      }
    } else {
      const P = this.pageSize;
      for (let i = 0; i < delta.remove.length; i += P) {
        ix.apply({ add: [], remove: delta.remove.slice(i, i + P) }, true);
        await this.step();
      }
      for (let i = 0; i < delta.add.length; i += P) {
        ix.apply({ add: delta.add.slice(i, i + P), remove: [] }, true);
        await this.step();
      }
      if (delta.allow) ix.apply({ add: [], remove: [], allow: delta.allow }, true);
      ix.settle();
    }
    this.sendSnapshot(ix);
  }

  /** The change as entries to add and values to remove, read in steps that yield. */
  private async deltaOf(changes: readonly DecisionChange[]): Promise<IpDelta> {
    const recheck = new Set<string>();
    const fresh = new Map<string, OutboundRow>();
    let allowChanged = false;
    for (const c of changes) {
      allowChanged ||= c.allowChanged;
      for (const v of c.removedValues) recheck.add(v);
      const contended = c.contendedValues === undefined ? undefined : new Set(c.contendedValues);
      let after = c.insertedFrom - 1;
      while (after < c.insertedTo) {
        const rows = this.source.page(after, c.insertedTo, this.pageSize);
        for (const r of rows) {
          // A value that had another decision: which one names it is the store's to say.
          if (contended === undefined || contended.has(r.value)) {
            recheck.add(r.value);
            continue;
          }
          const had = fresh.get(r.value);
          if (!had || wins(expKey(r.expiresAt), r.id, expKey(had.expiresAt), had.id)) fresh.set(r.value, r);
        }
        if (rows.length < this.pageSize) break;
        after = rows[rows.length - 1]!.id;
        await this.step();
      }
    }
    for (const v of recheck) fresh.delete(v);
    const add: IpEntry[] = [];
    const remove: string[] = [];
    for (const r of fresh.values()) add.push(entryOf(r));
    const values = [...recheck];
    for (let i = 0; i < values.length; i += this.pageSize) {
      const part = values.slice(i, i + this.pageSize);
      const best = this.source.best(part);
      for (const v of part) {
        const r = best.get(v);
        if (r) add.push(entryOf(r));
        else remove.push(v);
      }
      if (i + this.pageSize < values.length) await this.step();
    }
    return allowChanged ? { add, remove, allow: allowOf(this.source.allow()) } : { add, remove };
  }
}
