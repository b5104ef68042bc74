import type { AnswerFacts, Query } from './wire.js';

/* INTERIM stand-in for H1's DnsCache (same surface): a Map in LRU order, TTLs rewritten on the way out. */

interface Entry {
  readonly reply: Buffer;
  readonly storedAt: number;
  readonly expires: number;
  /** Offsets of the TTL fields to decrement. */
  readonly ttlOffsets: readonly number[];
  hits: number;
  readonly q: Query;
}

const key = (q: Query) => `${q.name}/${q.qtype}/${q.qclass}/${q.dnssecOk ? 1 : 0}/${q.cd ? 1 : 0}`;

function ttlOffsets(m: Buffer): number[] {
  const out: number[] = [];
  const skip = (o: number): number => {
    for (;;) {
      const l = m[o]!;
      if (l === 0) return o + 1;
      if ((l & 0xc0) === 0xc0) return o + 2;
      o += 1 + l;
    }
  };
  let p = 12;
  for (let i = 0; i < m.readUInt16BE(4); i++) p = skip(p) + 4;
  const n = m.readUInt16BE(6) + m.readUInt16BE(8) + m.readUInt16BE(10);
  for (let i = 0; i < n && p < m.length; i++) {
    const e = skip(p);
    if (m.readUInt16BE(e) !== 41) out.push(e + 4);
    p = e + 10 + m.readUInt16BE(e + 8);
  }
  return out;
}

export class DnsCache {
  private readonly map = new Map<string, Entry>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  constructor(private readonly o: { maxEntries: number; maxBytes: number; minTtl: number; maxTtl: number; negativeTtlMax: number }) {}

  get(q: Query, now: number): Buffer | undefined {
    const k = key(q);
    const e = this.map.get(k);
    if (!e || e.expires <= now) {
      if (e) this.drop(k, e);
      this.misses++;
      return undefined;
    }
    this.hits++;
    e.hits++;
    this.map.delete(k);
    this.map.set(k, e);
    const out = Buffer.from(e.reply);
    out.writeUInt16BE(q.id, 0);
    const age = Math.floor((now - e.storedAt) / 1000);
    for (const o of e.ttlOffsets) out.writeUInt32BE(Math.max(0, out.readUInt32BE(o) - age), o);
    return out;
  }

  set(q: Query, reply: Uint8Array, facts: AnswerFacts, now: number): void {
    if (this.o.maxEntries === 0 || facts.truncated || (facts.rcode !== 0 && facts.rcode !== 3)) return;
    const negative = facts.rcode === 3 || facts.answerCount === 0;
    const ttl = Math.min(negative ? this.o.negativeTtlMax : this.o.maxTtl, Math.max(this.o.minTtl, facts.minTtl));
    if (ttl <= 0) return;
    const b = Buffer.from(reply);
    let offs: number[];
    try {
      offs = ttlOffsets(b);
    } catch {
      return;
    }
    const k = key(q);
    const old = this.map.get(k);
    if (old) this.drop(k, old);
    this.map.set(k, { reply: b, storedAt: now, expires: now + ttl * 1000, ttlOffsets: offs, hits: 0, q });
    this.bytes += b.length;
    while (this.map.size > this.o.maxEntries || this.bytes > this.o.maxBytes) {
      const [fk, fe] = this.map.entries().next().value as [string, Entry];
      this.drop(fk, fe);
    }
  }

  /** Names asked at least twice whose answer expires within the next 10% of its life (at most 10 s). */
  prefetchDue(now: number): Query[] {
    const out: Query[] = [];
    for (const e of this.map.values()) {
      const life = e.expires - e.storedAt;
      if (e.hits >= 2 && e.expires > now && e.expires - now < Math.min(10_000, life / 10)) {
        out.push(e.q);
        e.hits = 0;
      }
    }
    return out;
  }

  flush(): void {
    this.map.clear();
    this.bytes = 0;
  }

  stats() {
    return { entries: this.map.size, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }

  private drop(k: string, e: Entry): void {
    this.map.delete(k);
    this.bytes -= e.reply.length;
  }
}
