import type { DecisionChange, FreshHost } from '../decisions/service.js';
import type { EnforcementView, HostState } from '../decisions/enforcement-view.js';
import type { Family } from '../net/ip.js';
import { elementText, renderAdd, renderEnsureAbsent, renderReplaceIntervalSet } from './elements.js';
import { FAMILIES, HOST_DIRS, allowSet, hostSet, netSet, type HostSetDir } from './names.js';
import type { NftRunner } from './nft.js';
import { renderSkeleton, type RulesetOptions } from './ruleset.js';
import { timeoutUntil } from './timeout.js';

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

  constructor(
    private readonly view: EnforcementView,
    private readonly nft: NftRunner,
    private readonly opts: RulesetOptions,
    private readonly log: EnforcerLog,
    private readonly clock: () => number = Date.now,
  ) {}

  get status(): { lastError: string | undefined; transactions: number } {
    return { lastError: this.lastError, transactions: this.applied };
  }

  /**
   * Makes the kernel match the store in one transaction: declarations, chains and every set's contents are
   * replaced together, so a restart never opens a gap, even after `kill -9` left an old table behind.
   */
  async reconcile(): Promise<ApplyStats> {
    const started = this.clock();
    const lines: string[] = [renderSkeleton(this.opts)];
    let elements = 0;
    const t = this.opts.table;
    const now = this.clock();
    const byDir = new Map<string, string[]>();
    for (const f of FAMILIES) for (const d of HOST_DIRS) byDir.set(hostSet(d, f), []);
    for (const h of this.view.allHosts()) {
      const d = dirOf(h);
      const text = this.elementFor(h, now);
      if (!d || text === undefined) continue;
      byDir.get(hostSet(d, h.family))!.push(text);
      elements++;
    }
    for (const [set, els] of byDir) {
      lines.push(`flush set inet ${t} ${set}`, ...renderAdd(t, set, els));
    }
    for (const f of FAMILIES) lines.push(...this.renderRanges(f), ...this.renderAllow(f));
    await this.nft.apply(lines.join('\n') + '\n');
    this.applied++;
    this.needFull = false;
    this.lastError = undefined;
    const stats = { elements, ms: this.clock() - started };
    this.log.info(stats, 'kernel sets reconciled with the store');
    return stats;
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

  /** Resolves once every change handed over so far is in the kernel (or has failed and been logged). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      for (const wake of this.queueTaken.splice(0)) wake();
      if (this.pending.length > 0 || this.needFull) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 || this.needFull) {
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
      } catch (e) {
        this.lastError = (e as Error).message;
        this.log.error({ err: this.lastError }, 'applying decisions to nftables failed; retrying with a full reconcile');
        // A failed transaction changed nothing; a full reconcile converges whatever the batch was.
        this.needFull = true;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private elementFor(h: HostState, now: number): string | undefined {
    if (h.expiresAt === null) return elementText({ value: h.value });
    const sec = timeoutUntil(h.expiresAt, now);
    return sec !== undefined ? elementText({ value: h.value, timeoutSec: sec }) : undefined;
  }

  private renderRanges(f: Family): string[] {
    const inbound = [];
    const outbound = [];
    for (const r of this.view.ranges(f)) {
      if (r.inbound) inbound.push(r);
      if (r.outbound) outbound.push(r);
    }
    const t = this.opts.table;
    return [...renderReplaceIntervalSet(t, netSet('in', f), f, inbound), ...renderReplaceIntervalSet(t, netSet('out', f), f, outbound)];
  }

  private renderAllow(f: Family): string[] {
    return renderReplaceIntervalSet(this.opts.table, allowSet(f), f, this.view.allowRanges(f));
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
