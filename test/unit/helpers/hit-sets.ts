import type { NftRunner } from '../../../src/firewall/index.js';

/**
 * The kernel's hit sets as `nft -j list set` prints them (nft 1.0.6, see firewall-hit-parse.test.ts): the
 * test bumps counters the way matching packets would.
 */
export class HitSets implements NftRunner {
  private readonly sets = new Map<string, Map<string, { v: [string, string, string, number]; packets: number; bytes: number }>>();

  hit(set: string, client: string, remote: string, proto: string, port: number, packets = 1): void {
    let s = this.sets.get(set);
    if (!s) this.sets.set(set, (s = new Map()));
    const k = `${client}|${remote}|${proto}|${port}`;
    const e = s.get(k) ?? { v: [client, remote, proto, port] as [string, string, string, number], packets: 0, bytes: 0 };
    e.packets += packets;
    e.bytes += packets * 60;
    s.set(k, e);
  }

  async listSet(table: string, set: string): Promise<unknown> {
    const elem = [...(this.sets.get(set)?.values() ?? [])].map((e) => ({ elem: { val: { concat: e.v }, expires: 3590, counter: { packets: e.packets, bytes: e.bytes } } }));
    return { nftables: [{ metainfo: { version: '1.0.6' } }, { set: { family: 'inet', name: set, table, elem } }] };
  }
  async apply(): Promise<void> {}
  async hasTable(): Promise<boolean> {
    return true;
  }
}

