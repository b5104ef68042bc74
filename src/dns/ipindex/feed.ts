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
  /** Rows read per step of a build; the event loop gets a turn between steps. */
  readonly pageSize?: number;
  /** A change inserting more rows than this is sent as a new snapshot rather than a delta. */
  readonly snapshotAbove?: number;
}

const PAGE = 5000;
const SNAPSHOT_ABOVE = 200_000;

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

/**
 * Daemon side of the IP index: builds it from the store's active outbound decisions and the allowlist,
 * then turns each `decisions.changed` into a delta (read back from the store by id range and by value, as
 * the firewall's enforcer does). Keeps its own copy current, so a worker that starts later gets
 * `current().toTransfer()`. A change is only recorded inside the bus's call (must-see subscribers must
 * return at once) and worked off on a later turn, several coalesced into one delta.
 */
export class IpIndexFeed {
  private index: IpIndex | undefined;
  private pending: DecisionChange[] = [];
  private scheduled = false;
  private building: Promise<void> | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private stopped = false;
  private readonly pageSize: number;
  private readonly snapshotAbove: number;

  constructor(private readonly source: IpIndexSource, private readonly bus: EventSource, private readonly opts: IpIndexFeedOptions) {
    this.pageSize = opts.pageSize ?? PAGE;
    this.snapshotAbove = opts.snapshotAbove ?? SNAPSHOT_ABOVE;
  }

  /** Subscribes, builds the first index (in steps), hands it to onUpdate and returns it. */
  async start(): Promise<IpIndex> {
    this.unsubscribe = this.bus.subscribe('decisions.changed', (c) => this.note(c), 'dns ip index');
    await this.rebuild();
    return this.index!;
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.pending = [];
  }

  /** The daemon's copy, current with every delta sent so far (undefined before the first build ends). */
  current(): IpIndex | undefined {
    return this.index;
  }

  /** Resolves once every change recorded so far has been sent (tests, and a caller that wants to be sure). */
  async settled(): Promise<void> {
    while (this.building || this.pending.length > 0 || this.scheduled) {
      if (this.building) await this.building;
      else await new Promise((r) => setImmediate(r));
    }
  }

  private note(c: DecisionChange): void {
    if (this.stopped) return;
    this.pending.push(c);
    if (this.scheduled || this.building) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** A fresh index from the store, read in steps; changes during the build are queued and applied after. */
  private rebuild(): Promise<void> {
    const run = async () => {
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
        await new Promise((r) => setImmediate(r));
        if (this.stopped) return;
      }
      for (const a of allowOf(this.source.allow())) ix.putAllow(a);
      ix.seal();
      this.index = ix;
      this.opts.onUpdate({ kind: 'snapshot', index: ix });
    };
    this.building = run().finally(() => {
      this.building = undefined;
      if (this.pending.length > 0 && !this.stopped) this.flush();
    });
    return this.building;
  }

  private flush(): void {
    if (this.stopped || this.building || !this.index) return;
    const changes = this.pending;
    this.pending = [];
    if (changes.length === 0) return;
    let inserted = 0;
    for (const c of changes) inserted += Math.max(0, c.insertedTo - c.insertedFrom + 1);
    if (inserted > this.snapshotAbove) {
      void this.rebuild().catch((e: Error) => this.opts.log?.warn({ err: e.message }, 'IP index rebuild failed; DNS answers keep the previous index'));
      return;
    }
    try {
      const delta = this.deltaOf(changes);
      if (delta.add.length === 0 && delta.remove.length === 0 && !delta.allow) return;
      this.index.apply(delta);
      this.opts.onUpdate({ kind: 'delta', delta });
    } catch (e) {
      // A store read failing here must not leave the workers silently behind: start over from the store.
      this.opts.log?.warn({ err: (e as Error).message }, 'IP index delta failed; rebuilding from the store');
      void this.rebuild().catch(() => undefined);
    }
  }

  private deltaOf(changes: readonly DecisionChange[]): IpDelta {
    const recheck = new Set<string>();
    const fresh = new Map<string, OutboundRow>();
    let allowChanged = false;
    for (const c of changes) {
      allowChanged ||= c.allowChanged;
      for (const v of c.removedValues) recheck.add(v);
      const rows = this.source.inserted(c.insertedFrom, c.insertedTo);
      const contended = c.contendedValues === undefined ? undefined : new Set(c.contendedValues);
      for (const r of rows) {
        // A value that had another decision: which one names it is the store's to say.
        if (contended === undefined || contended.has(r.value)) {
          recheck.add(r.value);
          continue;
        }
        const had = fresh.get(r.value);
        if (!had || wins(expKey(r.expiresAt), r.id, expKey(had.expiresAt), had.id)) fresh.set(r.value, r);
      }
    }
    for (const v of recheck) fresh.delete(v);
    const best = this.source.best(recheck);
    const add: IpEntry[] = [];
    const remove: string[] = [];
    for (const r of fresh.values()) add.push(entryOf(r));
    for (const v of recheck) {
      const r = best.get(v);
      if (r) add.push(entryOf(r));
      else remove.push(v);
    }
    return allowChanged ? { add, remove, allow: allowOf(this.source.allow()) } : { add, remove };
  }
}
