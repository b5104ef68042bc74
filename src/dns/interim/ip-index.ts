import { parseTarget, tryParseTarget, type Target } from '../../net/ip.js';

/* INTERIM stand-in for H4's IpIndex (same surface): hosts in a map, ranges scanned (longest prefix first). */

export interface IpEntry {
  readonly target: string;
  readonly origin: string;
  readonly scenario?: string;
  readonly decisionId?: number;
  /** An allow entry: beats every decision covering the address. */
  readonly allow?: boolean;
}
export interface IpHit {
  readonly target: string;
  readonly origin: string;
  readonly scenario?: string;
  readonly decisionId?: number;
}

interface Ranged {
  readonly t: Target;
  readonly e: IpEntry;
}

export class IpIndex {
  private readonly hosts = new Map<string, IpEntry[]>();
  private ranges: Ranged[] = [];
  private count = 0;

  static build(entries: readonly IpEntry[]): IpIndex {
    const x = new IpIndex();
    x.apply({ add: entries, remove: [] });
    return x;
  }

  get size(): number {
    return this.count;
  }

  lookup(ip: string): IpHit | undefined {
    const t = tryParseTarget(ip);
    if (!t) return undefined;
    let hit: IpEntry | undefined;
    for (const e of this.hosts.get(t.text) ?? []) {
      if (e.allow) return undefined;
      hit ??= e;
    }
    for (const r of this.ranges) {
      if (r.t.family !== t.family || r.t.start.compare(t.start) > 0 || r.t.end.compare(t.start) < 0) continue;
      if (r.e.allow) return undefined;
      hit ??= r.e;
    }
    return hit ? { target: hit.target, origin: hit.origin, ...(hit.scenario ? { scenario: hit.scenario } : {}), ...(hit.decisionId !== undefined ? { decisionId: hit.decisionId } : {}) } : undefined;
  }

  apply(delta: { add: readonly IpEntry[]; remove: readonly string[] }): void {
    for (const text of delta.remove) {
      if (this.hosts.delete(text)) this.count--;
      const before = this.ranges.length;
      this.ranges = this.ranges.filter((r) => r.e.target !== text);
      this.count -= before - this.ranges.length;
    }
    for (const e of delta.add) {
      const t = tryParseTarget(e.target);
      if (!t) continue;
      if (t.isHost) {
        const list = this.hosts.get(t.text) ?? [];
        list.push(e);
        this.hosts.set(t.text, list);
      } else this.ranges.push({ t, e });
      this.count++;
    }
    this.ranges.sort((a, b) => b.t.prefix - a.t.prefix);
  }

  toTransfer(): Uint8Array[] {
    const all = [...[...this.hosts.values()].flat(), ...this.ranges.map((r) => r.e)];
    return [Buffer.from(JSON.stringify(all), 'utf8')];
  }

  static fromTransfer(parts: readonly Uint8Array[]): IpIndex {
    return IpIndex.build(parts.flatMap((p) => JSON.parse(Buffer.from(p).toString('utf8')) as IpEntry[]));
  }
}

export { parseTarget };
