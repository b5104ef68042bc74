import type { Db } from '../store/index.js';
import type { EventPublisher } from '../events/index.js';
import type { BlockEventRepo, BlockHit, DecisionRef } from '../store/index.js';
import type { DecisionService } from '../decisions/index.js';
import { FAMILIES, hitSet, type HitDir } from './names.js';
import type { NftRunner } from './nft.js';
import { parseHitSet } from './hit-parse.js';
import type { Mode } from './ruleset.js';
import type { Clients } from '../clients/index.js';

export interface CollectorOptions {
  readonly table: string;
  /** Where recorded hits are announced (`firewall.blocked`). */
  readonly events?: EventPublisher;
  readonly hitTimeoutSec: number;
  readonly mode: (dir: HitDir) => Mode;
  /** Who the LAN side of a hit is (MAC and name, for IPv4 and IPv6 alike). */
  readonly clients: Pick<Clients, 'whoIs'>;
}

/**
 * Turns the kernel's per-pair hit counters into block events. The kernel counts; we only read small hit
 * sets by name (fast even when the deny sets hold millions) and keep the last counters we have seen.
 */
export class HitCollector {
  private baseline: Map<string, { packets: number; bytes: number }>;
  constructor(
    private readonly db: Db,
    private readonly repo: BlockEventRepo,
    private readonly decisions: DecisionService,
    private readonly nft: NftRunner,
    private readonly opts: CollectorOptions,
    private readonly clock: () => number = Date.now,
  ) {
    this.baseline = repo.loadBaseline();
  }

  async collect(): Promise<BlockHit[]> {
    const now = this.clock();
    const hits: BlockHit[] = [];
    const seen = new Set<string>();
    const changed = new Map<string, { packets: number; bytes: number }>();
    const reasons = new Map<string, DecisionRef[]>();
    for (const dir of ['out', 'in'] as const) {
      for (const f of FAMILIES) {
        const set = hitSet(dir, f);
        const json = await this.nft.listSet(this.opts.table, set);
        for (const s of parseHitSet(json)) {
          const key = `${set}|${s.client}|${s.remote}|${s.protocol}|${s.port}`;
          seen.add(key);
          const base = this.baseline.get(key);
          // A smaller counter means the kernel forgot the pair and started again.
          const packets = base && s.packets >= base.packets ? s.packets - base.packets : s.packets;
          const bytes = base && s.bytes >= base.bytes ? s.bytes - base.bytes : s.bytes;
          if (packets === 0) continue;
          changed.set(key, { packets: s.packets, bytes: s.bytes });
          let refs = reasons.get(s.remote);
          if (!refs) {
            refs = this.decisions.covering(s.remote).map((d) => ({ id: d.id, origin: d.origin, scenario: d.scenario, reason: d.reason }));
            reasons.set(s.remote, refs);
          }
          const info = await this.opts.clients.whoIs(s.client, now);
          hits.push({
            direction: dir === 'out' ? 'outbound' : 'inbound',
            clientIp: s.client,
            clientMac: info.mac,
            clientName: info.name,
            remoteIp: s.remote,
            protocol: s.protocol,
            port: s.port,
            mode: this.opts.mode(dir) === 'enforce' ? 'blocked' : 'monitored',
            seenAt: now - Math.max(0, this.opts.hitTimeoutSec - s.expiresSec) * 1000,
            packets,
            bytes,
            decisions: refs,
          });
        }
      }
    }
    const gone = [...this.baseline.keys()].filter((k) => !seen.has(k));
    // Events and the counters they consumed commit together: a crash in between can neither lose nor repeat hits.
    this.db.transaction(() => {
      this.repo.record(hits);
      this.repo.saveBaseline(changed, gone);
    })();
    for (const [k, v] of changed) this.baseline.set(k, v);
    for (const k of gone) this.baseline.delete(k);
    if (hits.length > 0) this.opts.events?.publish('firewall.blocked', hits);
    return hits;
  }
}
