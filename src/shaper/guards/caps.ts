import type { EventPublisher, GatehouseEvents } from '../../events/index.js';
import type { KernelRuntime } from '../../firewall/index.js';
import './events.js';
import { GUARD_SETS, type GuardCap } from './rules.js';

export interface CapHit {
  readonly client: string;
  readonly cap: GuardCap;
  readonly refused: number;
  /** When the kernel forgets the record (epoch ms). */
  readonly until: number;
}

/**
 * Turns the kernel's "who hit a cap" sets into `shaper.cap_hit` events (once per client and cap while the
 * record lives) and per-client figures for status.
 */
export interface CapWatcher {
  hitsFor(ip: string): readonly CapHit[];
  hits(): readonly CapHit[];
  poll(): Promise<void>;
}

export function createCapWatcher(opts: {
  readonly runtime: Pick<KernelRuntime, 'list'>;
  /** The caps the guard rules were built with (their sets exist only then). */
  readonly caps: readonly GuardCap[];
  readonly events?: EventPublisher<GatehouseEvents>;
  readonly now?: () => number;
}): CapWatcher {
  const now = opts.now ?? Date.now;
  let current: CapHit[] = [];
  const setsOf: Record<GuardCap, readonly string[]> = {
    max_connections: [GUARD_SETS.capConn4, GUARD_SETS.capConn6],
    new_connections_per_second: [GUARD_SETS.capRate4, GUARD_SETS.capRate6],
  };
  return {
    hitsFor: (ip) => current.filter((h) => h.client === ip),
    hits: () => current,
    async poll() {
      const t = now();
      const next: CapHit[] = [];
      for (const cap of opts.caps) {
        for (const set of setsOf[cap]) {
          for (const e of await opts.runtime.list(set)) {
            const client = e.key[0];
            if (client === undefined) continue;
            next.push({ client, cap, refused: e.counter?.packets ?? 0, until: t + (e.expiresSec ?? 0) * 1000 });
          }
        }
      }
      const before = new Set(current.map((h) => `${h.cap} ${h.client}`));
      current = next;
      for (const h of next) if (!before.has(`${h.cap} ${h.client}`)) opts.events?.publish('shaper.cap_hit', { client: h.client, cap: h.cap, refused: h.refused });
    },
  };
}
