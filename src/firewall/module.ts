import { moduleRef, type Module } from '../modules/index.js';
import type { BulkKernel } from '../decisions/index.js';
import { firewallSection, firewallWanted, type FirewallConfig } from './config.js';

export { firewallDefaults } from './config.js';
import type { Enforcer } from './enforcer.js';
import type { HitCollector } from './collector.js';
import type { NftRunner } from './nft.js';
import type { KernelFragment } from './fragment.js';
import type { Mode } from './ruleset.js';
import type { DomainSource } from './domain-source.js';
import type { KernelRuntime } from './runtime.js';

/** What the firewall module reads of the config. */
export interface FirewallView {
  readonly firewall: FirewallConfig;
  readonly interfaces: { readonly lan: readonly string[]; readonly wan: readonly string[] };
}

/** The firewall as `gatehouse status` shows it. */
export interface FirewallStatus {
  /** The nftables table: inet <table>. */
  readonly table: string;
  readonly inbound: Mode;
  readonly outbound: Mode;
  /** nft transactions run since the start. */
  readonly transactions: number;
  /** The last nft failure; absent (or undefined) when the last transaction went through. */
  readonly lastError?: string | undefined;
  /** Elements nft refused and that were left out so the rest is enforced. */
  readonly refused: number;
  readonly refusedSamples: readonly string[];
}

/** What the running firewall offers the other modules. */
export interface FirewallApi extends BulkKernel {
  /** Resolves once the kernel holds every change made so far. */
  readonly enforced: () => Promise<void>;
  /** Reads fresh hit counters into block events now (joins a collection already running). */
  readonly collect: () => Promise<void>;
  readonly enforcer: Enforcer;
  readonly collector: HitCollector;
  /** The other modules' parts of the table: applied with the firewall's own in one transaction. */
  readonly setFragments: (fragments: readonly KernelFragment[]) => Promise<void>;
  /**
   * Names the domain behind outbound hits in the block report (the DNS filter registers its resolvers'
   * memory here; undefined on its stop). Each collection waits for it at most 250 ms; a failure only
   * means no domain.
   */
  readonly setDomainSource: (source: DomainSource | undefined) => void;
  readonly status: () => FirewallStatus;
  /**
   * A module's handle on its own sets, maps and runtime quotas while it runs (portal logins, shaper classes):
   * typed operations checked against its fragment, each apply one nft transaction (see runtime.ts).
   */
  readonly runtime: (module: string) => KernelRuntime;
}

export interface FirewallOptions {
  /** Tests hand in their own nft. */
  readonly nft?: NftRunner;
  /** How long a stop waits for the nft run in flight (default 30 s). */
  readonly stopMs?: number;
}

export const firewallRef = moduleRef<FirewallApi>('firewall');

/**
 * The reputation firewall: the enforcer keeping the `inet gatehouse` table in step with the decisions,
 * and the hit collector turning per-element counters into block events. Its stop leaves the table in the
 * kernel on purpose (the network stays protected while the daemon is down); a refused start removes a
 * table it created. Runs when the config has `firewall:` or `interfaces:`, unless both directions are off.
 */
export function firewallModule(opts: FirewallOptions = {}) {
  return {
    name: 'firewall',
    // Optional here so the config check can tell a written `firewall:` from none; firewallDefaults fills it in.
    sections: () => ({ firewall: firewallSection().optional() }),
    // A valid config lists interfaces whenever the firewall is wanted (see firewallWanted), so: on when
    // interfaces are listed, unless both directions are off.
    enabled: (c: FirewallView) => c.interfaces.wan.length > 0 && !(c.firewall.inbound === 'off' && c.firewall.outbound === 'off'),
    needsInterfaces: (raw: Readonly<Record<string, unknown>>) => firewallWanted(raw),
    after: ['decisions', 'clients'],
    // Loaded here, not at the top: `gatehouse config check` and every CLI verb read the module list.
    start: async (ctx) => (await import('./run.js')).startFirewall(ctx, opts),
  } satisfies Module<FirewallView, FirewallApi>;
}
