import { cacheForm, OUR_UDP_SIZE, QTYPE, RCODE, type AnswerFacts, type Query } from '../wire/index.js';
import { nameEnd, readName } from '../wire/name.js';

export interface DnsCacheOptions {
  maxEntries: number;
  /** Bound on the bytes held: reply bytes plus a fixed estimate per entry (key, offsets, bookkeeping). */
  maxBytes: number;
  /** Seconds: a positive answer is kept at least this long (raises short upstream TTLs; 0 = keep theirs). */
  minTtl: number;
  /** Seconds: and at most this long. */
  maxTtl: number;
  /** Seconds: cap for NXDOMAIN/NODATA (whose own lifetime is RFC 2308's min(SOA TTL, SOA MINIMUM)). */
  negativeTtlMax: number;
}

export interface DnsCacheStats {
  /** Entries held, expired ones included until a fresh answer replaces them or eviction takes them. */
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  evictions: number;
}

/** A name asked for this often while cached is worth refreshing before it expires. */
const PREFETCH_HITS = 3;
/** Refresh during the last tenth of the entry's lifetime … */
const PREFETCH_WINDOW = 0.1;
/** … and only for lifetimes long enough that a refresh saves anything. */
const PREFETCH_MIN_TTL = 10;
/** Estimated bytes per entry besides the reply: Map slot, entry object, typed arrays' headers, key text. */
const ENTRY_OVERHEAD = 200;

interface Entry<M = unknown> {
  /** The table holding this entry, and its key there. */
  readonly table: Map<string, Entry<M>>;
  readonly key: string;
  readonly q: Query;
  /** The reply without OPT, TTLs already clamped; never handed out, only copied. */
  readonly data: Buffer;
  readonly ttlOffsets: Uint32Array;
  readonly ttls: Uint32Array;
  /** Length of data's question section + 12: the client's question bytes are copied over it when lengths agree. */
  readonly questionEnd: number;
  readonly inserted: number;
  readonly expires: number;
  readonly ttl: number;
  readonly bytes: number;
  hits: number;
  /** What the caller stored with the reply (set()'s `meta`), handed back on every hit through hitMeta. */
  readonly meta: M | undefined;
  /** Use order: a doubly linked list, least recently used at the head. */
  older: Entry<M> | undefined;
  newer: Entry<M> | undefined;
}

/** Query types common enough for a table of their own (class IN): A, AAAA, HTTPS, CNAME, MX, TXT, PTR, SRV, NS, SOA, SVCB. */
const TABLE_TYPES = [1, 28, 65, 5, 15, 16, 12, 33, 2, 6, 64];
const TYPE_SLOT = new Int8Array(256).fill(-1);
TABLE_TYPES.forEach((t, i) => (TYPE_SLOT[t] = i));

/**
 * The key is (type, class, DO, CD) choosing a table, then the name within it: for the common types no key string is
 * built per lookup (parseQuery's name string is hashed as it is). Any other type or class shares one table keyed
 * by a composed string. A fixed number of tables: random query types cannot make the cache grow. DO and CD are in
 * the key because they change what the upstream returns (RRSIGs; unvalidated data).
 */
function tableSlot(q: Pick<Query, 'qtype' | 'qclass' | 'dnssecOk' | 'cd'>): number {
  const slot = q.qclass === 1 && q.qtype < 256 ? TYPE_SLOT[q.qtype]! : -1;
  return slot < 0 ? -1 : slot * 4 + (q.dnssecOk ? 1 : 0) + (q.cd ? 2 : 0);
}

function nameKey(q: Pick<Query, 'name' | 'qtype' | 'qclass' | 'dnssecOk' | 'cd'>, slot: number): string {
  return slot >= 0 ? q.name : `${q.qtype}/${q.qclass}/${(q.dnssecOk ? 1 : 0) + (q.cd ? 2 : 0)}/${q.name}`;
}

/**
 * The resolver's answer cache: whole reply messages keyed by name, type, class, DO and CD. A hit is one copy
 * plus a patch of the ID and of each TTL at offsets found when the entry was stored (no walk, no parse).
 * Bounded by entries and by bytes with least-recently-used eviction: O(1) per operation through a linked list
 * in use order (not a Map's insertion order: re-inserting the same key on every hit cost ~100 µs at 10k entries
 * in V8, measured with bench/dns-wire.ts).
 *
 * Not cached: SERVFAIL and every other error RCODE (a failing upstream should be asked again, not remembered),
 * truncated replies, negative answers without an SOA (RFC 2308 §5), answers whose lifetime comes to 0 s.
 * Times are milliseconds (Date.now()); TTLs seconds.
 */
export class DnsCache<M = unknown> {
  private readonly tables: Map<string, Entry<M>>[] = Array.from({ length: TABLE_TYPES.length * 4 }, () => new Map());
  private readonly otherTable = new Map<string, Entry<M>>();
  private count = 0;
  private readonly popular = new Set<Entry<M>>();
  private oldest: Entry<M> | undefined;
  private newest: Entry<M> | undefined;
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  /**
   * After a get() that returned a reply: the `meta` stored with it, and the seconds its answer records have left
   * (the lowest TTL of the answer section as the returned copy carries it). Fields rather than a returned object:
   * a hit allocates nothing but the reply.
   */
  hitMeta: M | undefined;
  hitTtlLeft = 0;

  constructor(private readonly o: DnsCacheOptions) {}

  /**
   * The cached reply for `q` as a fresh Buffer: q's ID, TTLs counted down by the whole seconds since it was stored,
   * the client's RD bit, an OPT of our own (UDP size 1232, q's DO bit) when q had EDNS. With `queryMsg` the
   * client's question bytes are echoed too (its 0x20 letter case). Undefined when absent or expired.
   */
  get(q: Query, now: number, queryMsg?: Uint8Array): Buffer | undefined {
    const slot = tableSlot(q);
    const e = slot >= 0 ? this.tables[slot]!.get(q.name) : this.otherTable.get(nameKey(q, slot));
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    if (now >= e.expires) {
      // Left in place: the fresh answer the resolver is about to fetch overwrites it in its Map slot (deleting and
      // re-adding one key is what V8's Map handles worst); LRU eviction takes it if no answer comes.
      this.misses++;
      return undefined;
    }
    const edns = q.ednsUdpSize !== undefined;
    const data = e.data;
    const out = Buffer.allocUnsafe(data.length + (edns ? 11 : 0));
    data.copy(out, 0, 0, data.length);
    out[0] = q.id >>> 8;
    out[1] = q.id & 0xff;
    out[2] = (out[2]! & 0xfe) | (q.rd ? 1 : 0);
    if (queryMsg !== undefined && q.questionEnd === e.questionEnd && queryMsg.length >= e.questionEnd) {
      for (let i = 12; i < e.questionEnd; i++) out[i] = queryMsg[i]!; // ~30 bytes: a loop beats subarray + set
    }
    const elapsed = Math.floor((now - e.inserted) / 1000);
    this.hitMeta = e.meta;
    this.hitTtlLeft = e.ttl > elapsed ? e.ttl - elapsed : 0;
    if (elapsed > 0) {
      const offs = e.ttlOffsets;
      const ttls = e.ttls;
      for (let i = 0; i < offs.length; i++) {
        const left = ttls[i]! - elapsed;
        const v = left > 0 ? left : 0;
        const o = offs[i]!;
        out[o] = v >>> 24;
        out[o + 1] = (v >>> 16) & 0xff;
        out[o + 2] = (v >>> 8) & 0xff;
        out[o + 3] = v & 0xff;
      }
    }
    if (edns) {
      const o = data.length;
      const ar = ((out[10]! << 8) | out[11]!) + 1;
      out[10] = ar >>> 8;
      out[11] = ar & 0xff;
      out[o] = 0;
      out[o + 1] = 0;
      out[o + 2] = QTYPE.OPT;
      out[o + 3] = OUR_UDP_SIZE >>> 8;
      out[o + 4] = OUR_UDP_SIZE & 0xff;
      out[o + 5] = 0;
      out[o + 6] = 0;
      out[o + 7] = q.dnssecOk ? 0x80 : 0;
      out[o + 8] = 0;
      out[o + 9] = 0;
      out[o + 10] = 0;
    }
    this.hits++;
    if (++e.hits === PREFETCH_HITS && e.ttl >= PREFETCH_MIN_TTL) this.popular.add(e);
    if (e !== this.newest) {
      this.unlink(e);
      this.append(e);
    }
    return out;
  }

  /**
   * Stores `reply` (as inspected into `facts`) for `q`, if it is cacheable; replaces an older entry. `meta` (what
   * the caller learnt from the reply, e.g. its facts) comes back with every hit: a hit need not be inspected again.
   */
  set(q: Query, reply: Uint8Array, facts: AnswerFacts, now: number, meta?: M): void {
    const ttl = this.lifetime(facts);
    if (ttl <= 0) return;
    const form = cacheForm(reply);
    if ('kind' in form) return;
    // Only an answer to this very question: a reply for another name must never be served for this one.
    if (form.data.readUInt16BE(4) !== 1 || readName(form.data, 12) !== q.name) return;
    const qEnd = nameEnd;
    if (form.data.readUInt16BE(qEnd) !== q.qtype || form.data.readUInt16BE(qEnd + 2) !== q.qclass) return;
    const { data, ttlOffsets, ttls } = form;
    // Every record lives at least as long as the entry, so a hit never shows a TTL of 0; negative answers
    // (the SOA's TTL is what clients count down) exactly as long.
    const cap = facts.negative ? ttl : this.o.maxTtl;
    for (let i = 0; i < ttls.length; i++) {
      const t = Math.min(Math.max(ttls[i]!, ttl), Math.max(cap, ttl));
      ttls[i] = t;
      data.writeUInt32BE(t, ttlOffsets[i]!);
    }
    const slot = tableSlot(q);
    const table = slot >= 0 ? this.tables[slot]! : this.otherTable;
    const key = nameKey(q, slot);
    const bytes = data.length + ttlOffsets.length * 8 + key.length * 2 + ENTRY_OVERHEAD;
    const old = table.get(key);
    if (bytes > this.o.maxBytes || this.o.maxEntries < 1) {
      if (old !== undefined) this.remove(old);
      return;
    }
    // A replaced entry keeps its Map slot (overwritten below): V8's Map degrades badly when one key is deleted and
    // re-added over and over (every delete leaves a tombstone in that key's bucket chain until the next rehash).
    if (old !== undefined) this.detach(old);
    const entry: Entry<M> = {
      table,
      key,
      q: {
        id: 0,
        name: q.name,
        qtype: q.qtype,
        qclass: q.qclass,
        rd: true,
        cd: q.cd,
        ednsUdpSize: q.ednsUdpSize === undefined ? undefined : OUR_UDP_SIZE,
        dnssecOk: q.dnssecOk,
        questionEnd: q.questionEnd,
      },
      data,
      ttlOffsets,
      ttls,
      questionEnd: qEnd + 4,
      inserted: now,
      expires: now + ttl * 1000,
      ttl,
      bytes,
      hits: 0,
      meta,
      older: undefined,
      newer: undefined,
    };
    table.set(key, entry);
    if (old === undefined) this.count++;
    this.append(entry);
    this.bytes += bytes;
    while (this.count > this.o.maxEntries || this.bytes > this.o.maxBytes) {
      const oldest = this.oldest;
      if (oldest === undefined) break;
      this.remove(oldest);
      this.evictions++;
    }
  }

  /** Seconds `facts`' reply may stay; 0 = not cached. */
  private lifetime(f: AnswerFacts): number {
    if (f.truncated) return 0;
    if (f.rcode !== RCODE.NOERROR && f.rcode !== RCODE.NXDOMAIN) return 0;
    if (f.negative) {
      if (!f.hasSoa) return 0;
      return Math.min(Math.max(f.minTtl, this.o.minTtl), this.o.negativeTtlMax);
    }
    return Math.min(Math.max(f.minTtl, this.o.minTtl), this.o.maxTtl);
  }

  /**
   * Popular entries (asked for at least 3 times since stored) now in the last tenth of their lifetime, each
   * returned once: the resolver asks upstream again (buildQuery) and set()s the answer before clients miss.
   */
  prefetchDue(now: number): Query[] {
    const due: Query[] = [];
    for (const e of this.popular) {
      if (now >= e.expires) {
        this.popular.delete(e);
        continue;
      }
      if (now >= e.expires - e.ttl * 1000 * PREFETCH_WINDOW) {
        this.popular.delete(e);
        due.push(e.q);
      }
    }
    return due;
  }

  /** Drops every entry (the counters stay: they describe the cache's life, not its content). */
  flush(): void {
    for (const t of this.tables) t.clear();
    this.otherTable.clear();
    this.count = 0;
    this.popular.clear();
    this.oldest = undefined;
    this.newest = undefined;
    this.bytes = 0;
  }

  stats(): DnsCacheStats {
    return { entries: this.count, bytes: this.bytes, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }

  private remove(e: Entry<M>): void {
    e.table.delete(e.key);
    this.count--;
    this.detach(e);
  }

  private detach(e: Entry<M>): void {
    this.unlink(e);
    this.popular.delete(e);
    this.bytes -= e.bytes;
  }

  private append(e: Entry<M>): void {
    e.older = this.newest;
    e.newer = undefined;
    if (this.newest !== undefined) this.newest.newer = e;
    else this.oldest = e;
    this.newest = e;
  }

  private unlink(e: Entry<M>): void {
    if (e.older !== undefined) e.older.newer = e.newer;
    else this.oldest = e.newer;
    if (e.newer !== undefined) e.newer.older = e.older;
    else this.newest = e.older;
    e.older = undefined;
    e.newer = undefined;
  }
}
