import type { KernelRuntime, ListedElement } from '../../firewall/index.js';
import type { AddressUsage, Grant, PortalKernel } from '../types.js';
import { spentFrom, usageFrom } from './accounting.js';
import { flushArgs, flushFailed, systemConntrack, type ConntrackRun } from './conntrack.js';
import { authSet, counterSet, DIRECTIONS, FAMS, quotaMap, sessionHash } from './names.js';
import { addressesOf, grantOps, revokeOps, staleOps, staticOps, type Exemptions, type Listing, type OutsideDns } from './ops.js';

export interface PortalKernelOptions {
  /** FirewallApi.runtime('portal'). */
  readonly runtime: KernelRuntime;
  /** `portal.exempt`: devices that pass without a login. */
  readonly exempt?: Exemptions;
  /** Outside resolvers unauthorised clients may ask (when Gatehouse's own DNS filter is off). */
  readonly outsideDns?: OutsideDns;
  readonly conntrack?: ConntrackRun;
  readonly now?: () => number;
  /** A failed conntrack flush (the allow elements are gone already: new packets are refused anyway). */
  readonly onFlushError?: (ip: string, message: string) => void;
}

/** A poll's usage() and spent() share one reading of the counters. */
const COUNTERS_FRESH_MS = 500;
const MAPS_FRESH_MS = 30_000;
const NONE: Exemptions = { macs: [], ipv4: [], ipv6: [] };

/**
 * The portal's kernel side on the firewall's KernelRuntime: grants are elements with timeouts (the kernel
 * ends a session on time even with the daemon down), quotas are named runtime quotas chosen per address by
 * maps (the kernel stops a download at the limit), accounting is four small counter sets read by name.
 * It decides nothing: the session manager says who is in.
 */
export class RuntimePortalKernel implements PortalKernel {
  private readonly rt: KernelRuntime;
  private readonly conntrack: ConntrackRun;
  private readonly now: () => number;
  /** Session hash → session id, for spent(): learnt from grant and reassert. */
  private readonly sessions = new Map<string, string>();
  /** Session id → the addresses this kernel granted it: a repeated grant (a new address) keeps their counters. */
  private readonly granted = new Map<string, Set<string>>();
  private readonly memo = new Map<string, { at: number; list: Promise<readonly ListedElement[]> }>();

  constructor(private readonly o: PortalKernelOptions) {
    this.rt = o.runtime;
    this.conntrack = o.conntrack ?? systemConntrack;
    this.now = o.now ?? Date.now;
  }

  /**
   * Lists by name, reusing a recent listing: the session manager's poll calls usage() and spent() together
   * every 2 s, and each nft run costs a process. Quota maps change only by this kernel's own operations
   * (which drop the memo) or by the kernel timing an element out, so spent() may read them older.
   */
  private async listing(names: readonly string[], maxAgeMs = 0): Promise<Map<string, readonly ListedElement[]>> {
    const out = new Map<string, readonly ListedElement[]>();
    const now = performance.now();
    const lists = await Promise.all(
      names.map((n) => {
        const hit = this.memo.get(n);
        if (hit && now - hit.at <= maxAgeMs) return hit.list;
        const list = this.rt.list(n);
        this.memo.set(n, { at: now, list });
        list.catch(() => this.memo.delete(n));
        return list;
      }),
    );
    names.forEach((n, i) => out.set(n, lists[i]!));
    return out;
  }

  private async apply(ops: Parameters<KernelRuntime['apply']>[0]): Promise<void> {
    this.memo.clear();
    try {
      await this.rt.apply(ops);
    } finally {
      this.memo.clear();
    }
  }

  private quotaMaps(): string[] {
    return DIRECTIONS.flatMap((d) => FAMS.map((f) => quotaMap(d, f)));
  }

  private counterSets(): string[] {
    return DIRECTIONS.flatMap((d) => FAMS.map((f) => counterSet(d, f)));
  }

  async reassert(grants: readonly Grant[]): Promise<void> {
    const listing = await this.listing([...FAMS.map(authSet), ...this.quotaMaps(), ...this.counterSets()]);
    const now = this.now();
    for (const g of grants) this.remember(g);
    // One transaction: stale grants out, exempt sets refilled, wanted grants renewed (replace keeps the
    // element present throughout, so a granted client never sees a gap across a restart).
    await this.apply([
      ...staleOps(grants, listing),
      ...staticOps(this.o.exempt ?? NONE, this.o.outsideDns ?? { ipv4: [], ipv6: [] }),
      ...grants.flatMap((g) => grantOps(g, now, { keepCounters: true, listing })),
    ]);
  }

  private remember(g: Grant): void {
    this.sessions.set(sessionHash(g.sessionId), g.sessionId);
    this.granted.set(g.sessionId, new Set(addressesOf(g).map((a) => a.ip)));
  }

  async grant(g: Grant): Promise<void> {
    const before = this.granted.get(g.sessionId) ?? new Set<string>();
    const listing = await this.listing(this.quotaMaps());
    await this.apply(grantOps(g, this.now(), { keepCounters: (ip) => before.has(ip), listing, keepAnyLimit: false }));
    this.remember(g);
  }

  async revoke(g: Grant): Promise<void> {
    const listing = await this.listing(this.quotaMaps());
    await this.apply(revokeOps(g, listing));
    this.sessions.delete(sessionHash(g.sessionId));
    this.granted.delete(g.sessionId);
    // After the allow elements are gone: a flow re-created by an in-flight packet is refused by the gate.
    const runs = addressesOf(g).flatMap(({ ip }) => flushArgs(ip).map(async (argv) => ({ ip, r: await this.conntrack(argv) })));
    for (const res of await Promise.allSettled(runs)) {
      if (res.status === 'rejected') this.o.onFlushError?.('?', (res.reason as Error).message);
      else if (flushFailed(res.value.r)) this.o.onFlushError?.(res.value.ip, res.value.r.stderr.trim());
    }
  }

  async usage(): Promise<readonly AddressUsage[]> {
    return usageFrom(await this.listing(this.counterSets(), COUNTERS_FRESH_MS));
  }

  async spent(): Promise<readonly { readonly sessionId: string; readonly direction: 'down' | 'up' }[]> {
    const listing: Listing = new Map([...(await this.listing(this.quotaMaps(), MAPS_FRESH_MS)), ...(await this.listing(this.counterSets(), COUNTERS_FRESH_MS))]);
    return spentFrom(listing, (h) => this.sessions.get(h));
  }
}

export function portalKernel(o: PortalKernelOptions): PortalKernel {
  return new RuntimePortalKernel(o);
}
