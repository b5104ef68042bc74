import type { Db } from '../store/index.js';
import type { EventPublisher } from '../events/index.js';
import type { BlockEventRepo, BlockHit, DecisionRef } from '../store/index.js';
import type { DecisionService } from '../decisions/index.js';
import { FAMILIES, hitSet, type HitDir } from './names.js';
import type { NftRunner } from './nft.js';
import { parseHitSet } from './hit-parse.js';
import type { Mode } from './ruleset.js';
import type { Clients } from '../clients/index.js';
import { DOMAIN_WAIT_MS, domainsFor, type DomainPair, type DomainSource } from './domain-source.js';

export interface CollectorOptions {
  readonly table: string;
  /** Where recorded hits are announced (`firewall.blocked`). */
  readonly events?: EventPublisher;
  readonly hitTimeoutSec: number;
  readonly mode: (dir: HitDir) => Mode;
  /** Who the LAN side of a hit is (MAC and name, for IPv4 and IPv6 alike). */
  readonly clients: Pick<Clients, 'whoIs'>;
  /** How long recording waits for a domain source (default DOMAIN_WAIT_MS). */
  readonly domainWaitMs?: number;
  readonly log?: { warn(o: object, m: string): void };
}

/**
 * Turns the kernel's per-pair hit counters into block events. The kernel counts; we only read small hit
 * sets by name (fast even when the deny sets hold millions) and keep the last counters we have seen.
 */
export class HitCollector {
  private baseline: Map<string, { packets: number; bytes: number }>;
  private domainSource: DomainSource | undefined;
  private domainErrors = 0;
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

  /**
   * Lets a later module (the DNS filter) name the domain behind each outbound hit; undefined takes it away.
   * The collector asks it once per collection for the new hits' (client, remote) pairs.
   */
  setDomainSource(source: DomainSource | undefined): void {
    this.domainSource = source;
  }

  /** Collections whose domain lookup failed or came too late (recorded without domains). */
  get domainLookupFailures(): number {
    return this.domainErrors;
  }

  async collect(): Promise<BlockHit[]> {
    const now = this.clock();
    const hits: Mutable<BlockHit>[] = [];
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
    if (this.domainSource) await this.addDomains(hits, this.domainSource);
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

  /** Outbound hits only: an inbound remote is the connection's source, not a name a LAN client looked up. */
  private async addDomains(hits: Mutable<BlockHit>[], source: DomainSource): Promise<void> {
    const pairs: DomainPair[] = [];
    const at = new Map<string, number>();
    for (const h of hits) {
      if (h.direction !== 'outbound') continue;
      const k = `${h.clientIp} ${h.remoteIp}`;
      if (!at.has(k)) {
        at.set(k, pairs.length);
        pairs.push({ client: h.clientIp, remote: h.remoteIp });
      }
    }
    if (pairs.length === 0) return;
    const names = await domainsFor(source, pairs, this.opts.domainWaitMs ?? DOMAIN_WAIT_MS, (why) => {
      this.domainErrors++;
      this.opts.log?.warn({ err: why, pairs: pairs.length }, 'block report: no domains for these hits');
    });
    for (const h of hits) {
      if (h.direction !== 'outbound') continue;
      const d = names[at.get(`${h.clientIp} ${h.remoteIp}`)!];
      if (d !== undefined) h.domain = d;
    }
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
