import type { Clients } from '../clients/index.js';
import type { KernelRuntime, ListedElement } from '../firewall/index.js';
import type { ModuleLog } from '../modules/index.js';
import { serialQueue } from '../scheduler/index.js';
import { clientAddress } from './addr.js';
import { DIRECTIONS, FAMILIES, counterSet, mapName } from './fragment.js';
import { clientRemoveLines, parentMinor, rootLines, slotOfMinor, type DeviceSpec } from './htb.js';
import { emptyTable, planShares, type ShareTable, type ShareWant } from './plan.js';
import { classStats, rootQdisc, tcBatch, type Runner } from './tc.js';
import type { P2pEvidence, ShapedClient } from './types.js';
import { dayStart, hourOf, type UsageRepo, type UsageRow } from './usage.js';

/*
 * The running shaper: every few seconds it reads the per-address counter sets (who is active, how many bytes),
 * groups addresses into shares (portal owner, else device MAC, else the address), and brings the HTB classes
 * and classification maps in line with a plan (plan.ts): classes first, then map elements, then removals, so
 * no map element ever points to a class that does not exist yet.
 */

export interface ControllerDeps {
  readonly runtime: KernelRuntime;
  readonly devices: readonly DeviceSpec[];
  readonly p2pBps: number;
  readonly fairUseBps: number;
  readonly usage: UsageRepo;
  readonly log: ModuleLog;
  readonly run: Runner;
  readonly clients?: Clients | undefined;
  readonly clock?: () => number;
  /** P2P evidence for an address (from p2p/ when it runs). */
  readonly p2pEvidence?: (addr: string) => P2pEvidence | undefined;
  /** Open connections per LAN address (conntrack); read every few ticks. */
  readonly connections?: () => Promise<ReadonlyMap<string, number>>;
}

interface AddrSample {
  rx: number;
  tx: number;
  rxBps: number;
  txBps: number;
}

export interface ControllerStats {
  readonly ticks: number;
  readonly lastTickMs: number;
  readonly lastError?: string;
  readonly created: number;
  readonly removed: number;
}

const slotOfLeaf = (value: string | undefined): number | undefined => {
  const m = value ? /^[0-9a-f]+:([0-9a-f]+)$/.exec(value) : null;
  if (!m) return undefined;
  const minor = parseInt(m[1]!, 16);
  return slotOfMinor(minor - ((minor - 0x10) % 8));
};

export class ShaperController {
  private table: ShareTable = emptyTable();
  private readonly addrs = new Map<string, AddrSample>();
  private lastSampleMs = 0;
  private readonly owners = new Map<string, string>();
  private readonly fairUse = new Map<string, string>();
  private readonly macs = new Map<string, { mac: string | null; at: number }>();
  private conns: ReadonlyMap<string, number> = new Map();
  private today = { start: 0, totals: new Map<string, { down: number; up: number }>() };
  private ticks = 0;
  private lastTickMs = 0;
  private lastError: string | undefined;
  private createdCount = 0;
  private removedCount = 0;
  private slotHints: Map<string, number> | undefined;
  private readonly clock: () => number;

  constructor(private readonly d: ControllerDeps) {
    this.clock = d.clock ?? Date.now;
  }

  /** Root classes on every device; `replace` keeps a tree left by a previous run (no gap on restart). */
  async installRoots(): Promise<void> {
    await Promise.all(
      this.d.devices.map(async (dev) => {
        const q = await rootQdisc(dev.dev, this.d.run);
        const lines = rootLines(dev);
        // HTB cannot change its root in place: keep a tree of ours as it is, replace anything else.
        await tcBatch(q?.kind === 'htb' && q.handle === '1:' ? lines.slice(1) : lines, { run: this.d.run });
      }),
    );
  }

  /** After a restart: which slot each address's map elements point to, so its class stays where it is. */
  adoptKernel(): Promise<void> {
    return this.serial(() => this.adopt());
  }

  private async adopt(): Promise<void> {
    const hints = new Map<string, number>();
    for (const dir of DIRECTIONS) {
      for (const f of FAMILIES) {
        for (const e of await this.d.runtime.list(mapName(dir, f))) {
          const slot = slotOfLeaf(e.value);
          if (slot !== undefined && e.key[0]) hints.set(e.key[0], slot);
        }
      }
    }
    this.slotHints = hints;
    // The table is what the kernel has: the first plan then only changes what differs.
    const byslot = new Map<number, string[]>();
    for (const [a, s] of hints) byslot.set(s, [...(byslot.get(s) ?? []), a]);
    const shares = new Map<string, { key: string; slot: number; addrs: string[]; fairUse: boolean }>();
    for (const [slot, addrs] of byslot) shares.set(`adopted:${slot}`, { key: `adopted:${slot}`, slot, addrs, fairUse: false });
    this.table = { shares, bucket: 0 };
  }

  /** Classes in the kernel that no share uses (left by a run killed while clients left): removed. */
  async removeStrayClasses(): Promise<void> {
    const used = new Set([...this.table.shares.values()].map((s) => s.slot));
    await Promise.all(
      this.d.devices.map(async (dev) => {
        const stats = await classStats(dev.dev, this.d.run);
        const stray = stats.map((c) => slotOfMinor(c.minor)).filter((s): s is number => s !== undefined && !used.has(s));
        if (stray.length === 0) return;
        await tcBatch(stray.flatMap((s) => clientRemoveLines(dev.dev, s)), { force: true, run: this.d.run });
      }),
    );
  }

  /** Runs a change after every change queued before it: plans never interleave. */
  private readonly serial = serialQueue();

  tick(): Promise<void> {
    return this.serial(async () => {
      const t0 = this.clock();
      try {
        await this.reconcile(await this.sample());
        this.lastError = undefined;
      } catch (e) {
        this.lastError = (e as Error).message;
        this.d.log.warn({ err: this.lastError }, 'shaper: a tick failed; the next one tries again');
      } finally {
        this.ticks++;
        this.lastTickMs = this.clock() - t0;
      }
    });
  }

  async refreshConnections(): Promise<void> {
    if (this.d.connections) this.conns = await this.d.connections();
  }

  setFairUse(ips: readonly string[], on: boolean, reason: string): Promise<void> {
    for (const ip of normalise(ips)) {
      if (on) this.fairUse.set(ip, reason);
      else this.fairUse.delete(ip);
    }
    return this.serial(() => this.reconcileSampled());
  }

  setOwner(ips: readonly string[], owner: string | undefined): Promise<void> {
    for (const ip of normalise(ips)) {
      if (owner === undefined) this.owners.delete(ip);
      else this.owners.set(ip, owner);
    }
    return this.serial(() => this.reconcileSampled());
  }

  /**
   * A plan made before the first sample knows no address: it would take away every class and map element
   * adopted from the run before (the portal hands over its live sessions' owners right at start). Until then
   * the change is only recorded; the first tick applies it.
   */
  private reconcileSampled(): Promise<void> {
    return this.lastSampleMs === 0 ? Promise.resolve() : this.reconcile();
  }

  /** Reads the counter sets: rates, presence, and the bytes added to the hourly usage. Returns the share keys it used. */
  private async sample(): Promise<(addr: string) => string> {
    const now = this.clock();
    const seen = new Map<string, { rx: number; tx: number }>();
    for (const dir of DIRECTIONS) {
      for (const f of FAMILIES) {
        const elems: readonly ListedElement[] = await this.d.runtime.list(counterSet(dir, f));
        for (const e of elems) {
          const a = e.key[0];
          if (!a) continue;
          const cur = seen.get(a) ?? { rx: 0, tx: 0 };
          if (dir === 'down') cur.rx = e.counter?.bytes ?? 0;
          else cur.tx = e.counter?.bytes ?? 0;
          seen.set(a, cur);
        }
      }
    }
    const dt = this.lastSampleMs > 0 ? (now - this.lastSampleMs) / 1000 : 0;
    const deltas: [string, number, number][] = [];
    for (const [a, c] of seen) {
      const old = this.addrs.get(a);
      // A counter below the last read is a new element (the old one timed out): all of it is new.
      const drx = old ? (c.rx >= old.rx ? c.rx - old.rx : c.rx) : c.rx;
      const dtx = old ? (c.tx >= old.tx ? c.tx - old.tx : c.tx) : c.tx;
      this.addrs.set(a, { rx: c.rx, tx: c.tx, rxBps: dt > 0 ? (drx * 8) / dt : 0, txBps: dt > 0 ? (dtx * 8) / dt : 0 });
      // The first read after a start is the baseline: those bytes were counted by the run before (kill -9, restart).
      if (drx + dtx > 0 && this.lastSampleMs > 0) deltas.push([a, drx, dtx]);
    }
    for (const a of [...this.addrs.keys()]) if (!seen.has(a)) this.addrs.delete(a);
    const keyOf = await this.shareKeys();
    if (dayStart(now) !== this.today.start) this.today = { start: dayStart(now), totals: this.d.usage.totalsSince(dayStart(now)) };
    const rows = new Map<string, UsageRow>();
    const hour = hourOf(now);
    for (const [a, drx, dtx] of deltas) {
      const key = keyOf(a);
      const r = rows.get(key) ?? { client: key, hour, down: 0, up: 0 };
      rows.set(key, { ...r, down: r.down + drx, up: r.up + dtx });
      const t = this.today.totals.get(key) ?? { down: 0, up: 0 };
      this.today.totals.set(key, { down: t.down + drx, up: t.up + dtx });
    }
    this.d.usage.add([...rows.values()]);
    this.lastSampleMs = now;
    return keyOf;
  }

  /** The share key of each address: portal owner, else the device's MAC, else the address itself. */
  private async shareKeys(): Promise<(addr: string) => string> {
    const now = this.clock();
    const unknown = [...this.addrs.keys()].filter((a) => !this.owners.has(a) && (this.macs.get(a)?.at ?? 0) < now - 60_000);
    if (this.d.clients && unknown.length > 0) {
      // One read of every device for all newcomers (500 appearing at once must not mean 500 lookups).
      const byAddr = new Map<string, string>();
      for (const dev of await this.d.clients.devices().catch(() => [])) for (const a of [...dev.ipv4, ...dev.ipv6]) byAddr.set(a, dev.mac);
      for (const a of unknown) {
        let mac = byAddr.get(a) ?? null;
        // An address the directory has not met yet: ask once (it re-reads the neighbour table if stale).
        if (mac === null && unknown.length <= 8) mac = (await this.d.clients.whoIs(a).catch(() => ({ mac: null }))).mac;
        this.macs.set(a, { mac, at: now });
      }
    }
    for (const a of [...this.macs.keys()]) if (!this.addrs.has(a)) this.macs.delete(a);
    return (a) => {
      const o = this.owners.get(a);
      if (o !== undefined) return `user:${o}`;
      const m = this.macs.get(a)?.mac;
      return m ? `mac:${m}` : `ip:${a}`;
    };
  }

  /** `keyOf`: the share keys a sample of this tick already computed (else they are computed here). */
  private async reconcile(keyOf?: (addr: string) => string): Promise<void> {
    keyOf ??= await this.shareKeys();
    const want = new Map<string, { addrs: string[]; fairUse: boolean }>();
    for (const a of this.addrs.keys()) {
      const k = keyOf(a);
      const w = want.get(k) ?? { addrs: [], fairUse: false };
      w.addrs.push(a);
      if (this.fairUse.has(a)) w.fairUse = true;
      want.set(k, w);
    }
    const plan = planShares(this.table, want as ReadonlyMap<string, ShareWant>, {
      devices: this.d.devices,
      p2pBps: this.d.p2pBps,
      fairUseBps: this.d.fairUseBps,
      ...(this.slotHints ? { slotHints: this.slotHints } : {}),
    });
    const t0 = this.clock();
    await Promise.all(
      this.d.devices.map(async (dev) => {
        const lines = plan.tcBefore.get(dev.dev) ?? [];
        try {
          await tcBatch(lines, { run: this.d.run });
        } catch (e) {
          // A class left behind (a run killed mid-change) makes `add` fail: the slower `replace` always works.
          this.d.log.warn({ dev: dev.dev, err: (e as Error).message }, 'shaper: adding classes failed; replacing them instead');
          await tcBatch(lines.map((l) => (l[0] === 'class' && l[1] === 'add' ? ['class', 'replace', ...l.slice(2)] : l)), { run: this.d.run });
        }
      }),
    );
    const t1 = this.clock();
    if (plan.mapOps.length > 0) await this.d.runtime.apply(plan.mapOps);
    const t2 = this.clock();
    await Promise.all(this.d.devices.map((dev) => tcBatch(plan.tcAfter.get(dev.dev) ?? [], { force: true, run: this.d.run })));
    const took = { tcMs: t1 - t0, nftMs: t2 - t1, tcRemoveMs: this.clock() - t2 };
    this.table = plan.next;
    this.slotHints = undefined;
    const real = (k: string) => !k.startsWith('adopted:');
    this.createdCount += plan.created.filter(real).length;
    this.removedCount += plan.removed.filter(real).length;
    if (plan.created.length + plan.removed.length > 0) {
      this.d.log.info({ created: plan.created.length, removed: plan.removed.length, shares: plan.next.shares.size, ...took }, 'shaper: classes changed');
    }
  }

  /** How many shares (clients) have a class: clients().length without building the list. */
  shareCount(): number {
    return this.table.shares.size;
  }

  clients(): ShapedClient[] {
    const out: ShapedClient[] = [];
    for (const s of this.table.shares.values()) {
      let down = 0;
      let up = 0;
      let connections = 0;
      let p2p: P2pEvidence | undefined;
      for (const a of s.addrs) {
        const x = this.addrs.get(a);
        down += x?.rxBps ?? 0;
        up += x?.txBps ?? 0;
        connections += this.conns.get(a) ?? 0;
        p2p ??= this.d.p2pEvidence?.(a);
      }
      const t = this.today.totals.get(s.key) ?? { down: 0, up: 0 };
      const mac = s.key.startsWith('mac:') ? s.key.slice(4) : this.macs.get(s.addrs[0] ?? '')?.mac ?? undefined;
      out.push({
        key: s.key,
        ...(mac ? { mac } : {}),
        ...(s.key.startsWith('user:') ? { user: s.key.slice(5) } : {}),
        ips: [...s.addrs].sort(),
        downBps: Math.round(down),
        upBps: Math.round(up),
        bytesToday: { down: t.down, up: t.up },
        classId: parentMinor(s.slot),
        ...(p2p ? { p2p } : {}),
        fairUse: s.fairUse,
        connections,
      });
    }
    return out.sort((a, b) => b.downBps + b.upBps - (a.downBps + a.upBps) || a.key.localeCompare(b.key));
  }

  stats(): ControllerStats {
    return { ticks: this.ticks, lastTickMs: this.lastTickMs, ...(this.lastError ? { lastError: this.lastError } : {}), created: this.createdCount, removed: this.removedCount };
  }
}

/** The addresses as the kernel's sets print them; anything that is no address is dropped. */
function normalise(ips: readonly string[]): string[] {
  return ips.map(clientAddress).filter((a): a is string => a !== undefined);
}
