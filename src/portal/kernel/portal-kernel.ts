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

  constructor(private readonly o: PortalKernelOptions) {
    this.rt = o.runtime;
    this.conntrack = o.conntrack ?? systemConntrack;
    this.now = o.now ?? Date.now;
  }

  /** The quota maps (small: one element per granted address), for decisions that depend on them. */
  private async listing(names: readonly string[]): Promise<Map<string, readonly ListedElement[]>> {
    const out = new Map<string, readonly ListedElement[]>();
    const lists = await Promise.all(names.map((n) => this.rt.list(n)));
    names.forEach((n, i) => out.set(n, lists[i]!));
    return out;
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
    for (const g of grants) this.sessions.set(sessionHash(g.sessionId), g.sessionId);
    // One transaction: stale grants out, exempt sets refilled, wanted grants renewed (replace keeps the
    // element present throughout, so a granted client never sees a gap across a restart).
    await this.rt.apply([
      ...staleOps(grants, listing),
      ...staticOps(this.o.exempt ?? NONE, this.o.outsideDns ?? { ipv4: [], ipv6: [] }),
      ...grants.flatMap((g) => grantOps(g, now, { keepCounters: true, listing })),
    ]);
  }

  async grant(g: Grant): Promise<void> {
    this.sessions.set(sessionHash(g.sessionId), g.sessionId);
    const listing = await this.listing(this.quotaMaps());
    await this.rt.apply(grantOps(g, this.now(), { keepCounters: false, listing }));
  }

  async revoke(g: Grant): Promise<void> {
    const listing = await this.listing(this.quotaMaps());
    await this.rt.apply(revokeOps(g, listing));
    this.sessions.delete(sessionHash(g.sessionId));
    // After the allow elements are gone: a flow re-created by an in-flight packet is refused by the gate.
    const runs = addressesOf(g).flatMap(({ ip }) => flushArgs(ip).map(async (argv) => ({ ip, r: await this.conntrack(argv) })));
    for (const res of await Promise.allSettled(runs)) {
      if (res.status === 'rejected') this.o.onFlushError?.('?', (res.reason as Error).message);
      else if (flushFailed(res.value.r)) this.o.onFlushError?.(res.value.ip, res.value.r.stderr.trim());
    }
  }

  async usage(): Promise<readonly AddressUsage[]> {
    return usageFrom(await this.listing(this.counterSets()));
  }

  async spent(): Promise<readonly { readonly sessionId: string; readonly direction: 'down' | 'up' }[]> {
    const listing: Listing = await this.listing([...this.quotaMaps(), ...this.counterSets()]);
    return spentFrom(listing, (h) => this.sessions.get(h));
  }
}

export function portalKernel(o: PortalKernelOptions): PortalKernel {
  return new RuntimePortalKernel(o);
}
