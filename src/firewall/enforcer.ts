import type { DecisionChange, FreshHost } from '../decisions/index.js';
import type { EnforcementView, HostState } from '../decisions/index.js';
import type { Family } from '../net/ip.js';
import { mergeRanges, type ByteRange } from '../net/ranges.js';
import { elementText, rangeText, renderAdd, renderEnsureAbsent } from './elements.js';
import { FAMILIES, HOST_DIRS, allowSet, hostSet, netSet, type HostSetDir } from './names.js';
import type { NftRunner } from './nft.js';
import { firewallFragment, type RulesetOptions } from './ruleset.js';
import { composeTable } from './compose.js';
import { tableDeclarations } from './kernel-table.js';
import type { KernelFragment } from './fragment.js';
import { elementValue, isolateRefused, renderFullTable, type SetContents } from './isolate.js';
import { KERNEL_TIMEOUT_CAP_SEC, timeoutUntil } from './timeout.js';

export interface EnforcerLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ApplyStats {
  readonly elements: number;
  readonly ms: number;
}

function dirOf(h: HostState): HostSetDir | undefined {
  if (h.inbound && h.outbound) return 'both';
  if (h.inbound) return 'in';
  if (h.outbound) return 'out';
  return undefined;
}

function freshState(f: FreshHost): HostState {
  return { value: f.value, family: f.family, inbound: f.direction !== 'outbound', outbound: f.direction !== 'inbound', expiresAt: f.expiresAt, decisions: 1 };
}

const isRangeValue = (v: string): boolean => v.includes('/');
const familyOfValue = (v: string): Family => (v.includes(':') ? 6 : 4);

/**
 * How often elements whose expiry lies beyond the kernel timeout cap are re-asserted, and which: those
 * whose expiry is more than half a cap away. Every element the kernel got since the last round holds for
 * a full cap, so a quarter cap of slack remains for a late round (see reassertDue).
 */
const CAP_MS = KERNEL_TIMEOUT_CAP_SEC * 1000;
const REASSERT_EVERY_MS = CAP_MS / 4;
/** Waits between failed full reconciles: doubling from 1 s, at most a minute. */
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 60_000;
const MAX_REFUSED_SAMPLES = 10;

/**
 * Keeps the kernel's sets equal to the store. Changes are queued and applied by one worker as atomic
 * nft transactions of differences; a burst of changes is coalesced into one transaction.
 */
export class Enforcer {
  private pending: DecisionChange[] = [];
  /** Single addresses in `pending` (not those in the transaction nft is running). */
  private pendingHosts = 0;
  /** Woken each time the worker takes the queue for its next transaction. */
  private queueTaken: (() => void)[] = [];
  private readonly preloaded = new Set<string>();
  private running: Promise<void> | undefined;
  private needFull = false;
  private lastError: string | undefined;
  private applied = 0;
  /** Element values nft refused in the last isolation (value → set): left out until their decisions change. */
  private refused = new Map<string, string>();
  /** Failed transactions in a row; the second one (a full reconcile failing too) starts the backoff. */
  private failures = 0;
  private backingOff = false;
  private wakeBackoff: (() => void) | undefined;
  /** Woken when the worker finishes or starts waiting out a backoff: settled() callers go on then. */
  private idleWaiters: (() => void)[] = [];
  private stopping = false;
  private nextReassertAt: number;
  /** Other modules' parts of the table, composed after the firewall's own at every full reconcile. */
  private fragments: readonly KernelFragment[] = [];
  /** setFragments was called: until then, objects of other modules found in the table are kept. */
  private fragmentsKnown = false;

  constructor(
    private readonly view: EnforcementView,
    private readonly nft: NftRunner,
    private readonly opts: RulesetOptions,
    private readonly log: EnforcerLog,
    private readonly clock: () => number = Date.now,
  ) {
    this.nextReassertAt = clock() + REASSERT_EVERY_MS;
  }

  /** `refused`: elements nft would not take, left out so everything else is enforced (see reconcile). */
  get status(): { lastError: string | undefined; transactions: number; refused: number; refusedSamples: string[] } {
    return { lastError: this.lastError, transactions: this.applied, refused: this.refused.size, refusedSamples: [...this.refused.keys()].slice(0, MAX_REFUSED_SAMPLES) };
  }

  /**
   * Sets the other modules' kernel fragments (the firewall's own comes first). They are checked here, so a
   * name collision or an invalid rule is a KernelFragmentError at start, and nothing changes. Before the
   * first reconcile, that reconcile applies them; after it, the worker runs a full reconcile (await
   * settled()), so the whole table changes in one transaction, in turn with decision changes. Each module
   * keeps its own sets' elements up to date itself.
   */
  setFragments(fragments: readonly KernelFragment[]): void {
    composeTable(this.opts.table, [firewallFragment(this.opts), ...fragments]);
    this.fragments = [...fragments];
    this.fragmentsKnown = true;
    if (this.applied > 0) {
      this.needFull = true;
      this.kick();
    }
  }

  /**
   * Makes the kernel match the store in one transaction: the composed table's declarations and chains (every
   * module's fragment) and the firewall's sets' contents are replaced together, so a restart never opens a
   * gap, even after `kill -9` left an old table behind.
   * When nft refuses the transaction, the elements it stumbles on are found with dry runs (`nft -c`),
   * left out and reported, and everything else is applied: one bad element never blocks the rest.
   */
  async reconcile(): Promise<ApplyStats> {
    const started = this.clock();
    const now = this.clock();
    const t = this.opts.table;
    const skeleton = await tableDeclarations(this.nft, t, [firewallFragment(this.opts), ...this.fragments], this.log, { keepStale: !this.fragmentsKnown });
    const byDir = new Map<string, string[]>();
    for (const f of FAMILIES) for (const d of HOST_DIRS) byDir.set(hostSet(d, f), []);
    for (const h of this.view.allHosts()) {
      const d = dirOf(h);
      const text = this.elementFor(h, now, true);
      if (!d || text === undefined) continue;
      byDir.get(hostSet(d, h.family))!.push(text);
    }
    const sets: SetContents[] = [...byDir].map(([set, elements]) => ({ set, elements }));
    for (const f of FAMILIES) sets.push(...this.rangeContents(f, true), this.allowContents(f, true));
    const script = (contents: readonly SetContents[]): string => renderFullTable(t, skeleton, contents);
    let refused = new Map<string, string>();
    let applied = sets;
    try {
      await this.nft.apply(script(sets));
    } catch (e) {
      refused = await isolateRefused(this.nft, t, skeleton, sets, e, () => this.stopping);
      applied = sets.map((c) => ({ set: c.set, elements: c.elements.filter((el) => !refused.has(elementValue(el))) }));
      await this.nft.apply(script(applied));
    }
    this.refused = refused;
    if (refused.size > 0) {
      this.log.error(
        { refused: refused.size, samples: [...refused.keys()].slice(0, MAX_REFUSED_SAMPLES) },
        'nft refused some elements; they are left out and everything else is enforced',
      );
    }
    this.applied++;
    this.needFull = false;
    this.lastError = undefined;
    this.nextReassertAt = now + REASSERT_EVERY_MS;
    const elements = applied.slice(0, byDir.size).reduce((n, c) => n + c.elements.length, 0);
    const stats = { elements, ms: this.clock() - started };
    this.log.info(stats, 'kernel sets reconciled with the store');
    return stats;
  }

  /**
   * Re-asserts single addresses whose expiry lies beyond what the kernel may still hold (their timeout was
   * capped, see firewall/timeout.ts), at most every quarter cap; cheap when nothing is due. The daemon's
   * expire job calls it. Returns how many it queued.
   */
  reassertDue(): number {
    const now = this.clock();
    if (now < this.nextReassertAt) return 0;
    this.nextReassertAt = now + REASSERT_EVERY_MS;
    const values = this.view.valuesExpiringAfter(now + CAP_MS / 2);
    // As if removed: each is taken out of every set and put back with a fresh timeout (nft 1.0.6's `add`
    // of a present element keeps the old one).
    if (values.length > 0) this.enqueue({ insertedFrom: 1, insertedTo: 0, removedValues: values, allowChanged: false });
    return values.length;
  }

  handle(change: DecisionChange): void {
    if (this.preloaded.size > 0) change = this.consumePreloaded(change);
    this.enqueue(change);
  }

  private enqueue(change: DecisionChange): void {
    this.pending.push(change);
    this.pendingHosts += change.freshHosts?.length ?? 0;
    this.kick();
  }

  /**
   * Resolves once fewer than `max` addresses wait for nft behind the transaction it is running: a bulk
   * writer that awaits this between chunks stays at most that far ahead of the kernel, instead of queueing
   * a million addresses (and their garbage) in memory while nft catches up.
   */
  async backlogBelow(max: number): Promise<void> {
    while (this.pendingHosts >= max && this.running) await new Promise<void>((resolve) => this.queueTaken.push(resolve));
  }

  /**
   * Puts single addresses into the kernel before the store has them, so a bulk import's nft work runs on
   * the other core while SQLite writes. The store's change that follows (synchronously, for the same
   * lines) must not add them again; whatever the store did not insert as new is recomputed from it.
   */
  preload(hosts: readonly FreshHost[]): void {
    if (hosts.length === 0) return;
    for (const h of hosts) this.preloaded.add(h.value);
    this.enqueue({ insertedFrom: 1, insertedTo: 0, removedValues: [], contendedValues: [], freshHosts: hosts, allowChanged: false });
  }

  /** The store write after a preload failed: recompute those values from the store (taking them out). */
  discardPreload(): void {
    if (this.preloaded.size === 0) return;
    const values = [...this.preloaded];
    this.preloaded.clear();
    this.handle({ insertedFrom: 1, insertedTo: 0, removedValues: values, allowChanged: false });
  }

  private consumePreloaded(change: DecisionChange): DecisionChange {
    const fresh = (change.freshHosts ?? []).filter((h) => !this.preloaded.delete(h.value));
    // Preloaded values the store did not take as new (updated, contended or skipped) are redone from it.
    const leftovers = [...this.preloaded];
    this.preloaded.clear();
    return { ...change, freshHosts: fresh, removedValues: [...change.removedValues, ...leftovers] };
  }

  /**
   * Resolves once every change handed over so far is in the kernel, or has failed and been logged: while
   * the worker waits out a backoff after failed reconciles, callers are not held with it.
   */
  async settled(): Promise<void> {
    while (this.running && !this.backingOff) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Applies what is queued, but retries nothing that fails, and returns once the worker is idle: a stop
   * takes at most the nft run in flight and the next one. The next start's reconcile repairs the rest.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeBackoff?.();
    while (this.running) await this.running;
    if (this.pending.length > 0 || this.needFull) this.log.error({ lastError: this.lastError }, 'stopping with changes nft did not take; the next start reconciles them');
  }

  private kick(): void {
    if (this.running || (this.stopping && this.failures > 0)) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      for (const wake of this.queueTaken.splice(0)) wake();
      if (this.pending.length > 0 || this.needFull) this.kick();
      if (!this.running) for (const wake of this.idleWaiters.splice(0)) wake();
    });
  }

  private backoff(ms: number): Promise<void> {
    this.backingOff = true;
    for (const wake of this.idleWaiters.splice(0)) wake();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.wakeBackoff?.(), ms);
      this.wakeBackoff = () => {
        clearTimeout(timer);
        this.wakeBackoff = undefined;
        this.backingOff = false;
        resolve();
      };
    });
  }

  private async drain(): Promise<void> {
    while ((this.pending.length > 0 || this.needFull) && !(this.stopping && this.failures > 0)) {
      const batch = this.pending;
      this.pending = [];
      this.pendingHosts = 0;
      for (const wake of this.queueTaken.splice(0)) wake();
      try {
        if (this.needFull) {
          await this.reconcile();
        } else {
          const script = this.renderChanges(batch);
          if (script.length > 0) {
            await this.nft.apply(script);
            this.applied++;
          }
        }
        this.lastError = undefined;
        this.failures = 0;
      } catch (e) {
        this.lastError = (e as Error).message;
        this.failures++;
        this.log.error({ err: this.lastError, failures: this.failures }, 'applying decisions to nftables failed; retrying with a full reconcile');
        // A failed transaction changed nothing; a full reconcile converges whatever the batch was, leaving
        // out what nft refuses. Only when that fails too is there something to wait out.
        this.needFull = true;
        if (this.failures > 1 && !this.stopping) await this.backoff(Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.failures - 2)));
      }
    }
  }

  /** The element for a host's state; undefined when it is over, or refused before and `retry` is not set. */
  private elementFor(h: HostState, now: number, retry = false): string | undefined {
    if (!retry && this.refused.has(h.value)) return undefined;
    if (h.expiresAt === null) return elementText({ value: h.value });
    const sec = timeoutUntil(h.expiresAt, now);
    return sec !== undefined ? elementText({ value: h.value, timeoutSec: sec }) : undefined;
  }

  /** An interval set's contents: the union of its ranges (interval sets refuse overlaps). */
  private intervalContents(set: string, f: Family, ranges: Iterable<ByteRange>, retry: boolean): SetContents {
    const elements = mergeRanges(ranges).map((r) => rangeText(r, f));
    return { set, elements: retry || this.refused.size === 0 ? elements : elements.filter((e) => !this.refused.has(e)) };
  }

  private rangeContents(f: Family, retry = false): SetContents[] {
    const inbound = [];
    const outbound = [];
    for (const r of this.view.ranges(f)) {
      if (r.inbound) inbound.push(r);
      if (r.outbound) outbound.push(r);
    }
    return [this.intervalContents(netSet('in', f), f, inbound, retry), this.intervalContents(netSet('out', f), f, outbound, retry)];
  }

  private allowContents(f: Family, retry = false): SetContents {
    return this.intervalContents(allowSet(f), f, this.view.allowRanges(f), retry);
  }

  /** Replaces interval sets' contents in the caller's transaction: no moment without the old or new contents. */
  private renderReplace(contents: readonly SetContents[]): string[] {
    const t = this.opts.table;
    return contents.flatMap((c) => [`flush set inet ${t} ${c.set}`, ...renderAdd(t, c.set, c.elements)]);
  }

  private renderRanges(f: Family): string[] {
    return this.renderReplace(this.rangeContents(f));
  }

  private renderAllow(f: Family): string[] {
    return this.renderReplace([this.allowContents(f)]);
  }

  /** The difference script for a batch of changes; empty when nothing reaches the kernel. */
  renderChanges(batch: readonly DecisionChange[]): string {
    const t = this.opts.table;
    const now = this.clock();
    const lines: string[] = [];
    const removedHosts = new Set<string>();
    const rangeFamilies = new Set<Family>();
    let allowChanged = false;
    for (const c of batch) {
      allowChanged ||= c.allowChanged;
      for (const v of c.removedValues) {
        // A value whose decisions changed gets another chance at the kernel.
        this.refused.delete(v);
        if (isRangeValue(v)) rangeFamilies.add(familyOfValue(v));
        else removedHosts.add(v);
      }
      if (this.view.insertedRanges(c.insertedFrom, c.insertedTo)) for (const f of FAMILIES) rangeFamilies.add(f);
    }
    // Values whose state may already be in the kernel: take them out of every set, then put back what is due.
    const redo = new Map<string, HostState | undefined>();
    for (const v of removedHosts) redo.set(v, undefined);
    for (const [v, h] of this.view.hostsFor([...removedHosts])) redo.set(v, h);
    // Values that already had another decision need their union recomputed; the rest are new to the kernel.
    const contended = new Set<string>();
    for (const c of batch) for (const v of c.contendedValues ?? []) contended.add(v);
    for (const [v, h] of this.view.hostsFor([...contended].filter((v) => !redo.has(v)))) redo.set(v, h);
    const fresh = new Map<string, string[]>();
    for (const c of batch) {
      if (c.insertedFrom > c.insertedTo && !c.freshHosts) continue;
      const rows = c.freshHosts
        ? c.freshHosts.map(freshState)
        : c.contendedValues
          ? this.view.insertedHostRows(c.insertedFrom, c.insertedTo)
          : this.view.hostsInserted(c.insertedFrom, c.insertedTo);
      for (const h of rows) {
        if (redo.has(h.value)) continue;
        if (h.decisions > 1) {
          redo.set(h.value, h);
          continue;
        }
        const d = dirOf(h);
        const text = this.elementFor(h, now);
        if (!d || text === undefined) continue;
        const set = hostSet(d, h.family);
        if (!fresh.has(set)) fresh.set(set, []);
        fresh.get(set)!.push(text);
      }
    }
    const absent = new Map<string, string[]>();
    const readd = new Map<string, string[]>();
    for (const [value, h] of redo) {
      const f = familyOfValue(value);
      for (const d of HOST_DIRS) {
        const set = hostSet(d, f);
        if (!absent.has(set)) absent.set(set, []);
        absent.get(set)!.push(value);
      }
      const d = h ? dirOf(h) : undefined;
      const text = h ? this.elementFor(h, now) : undefined;
      if (d && text !== undefined) {
        const set = hostSet(d, f);
        if (!readd.has(set)) readd.set(set, []);
        readd.get(set)!.push(text);
      }
    }
    for (const [set, values] of absent) lines.push(...renderEnsureAbsent(t, set, values));
    for (const [set, els] of readd) lines.push(...renderAdd(t, set, els));
    for (const [set, els] of fresh) lines.push(...renderAdd(t, set, els));
    for (const f of rangeFamilies) lines.push(...this.renderRanges(f));
    if (allowChanged) for (const f of FAMILIES) lines.push(...this.renderAllow(f));
    return lines.length > 0 ? lines.join('\n') + '\n' : '';
  }
}
