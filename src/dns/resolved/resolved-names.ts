import { parseV4, parseV6, v4Text, v6Text } from '../ipindex/parse.js';

/** A LAN client and the remote address it connected to, as the firewall's hit collector sees them. */
export interface ResolvedPair {
  readonly client: string;
  readonly remote: string;
}

export interface ResolvedNamesOptions {
  /** Pairs kept in all; the least recently noted go first (half the cap at a time). Default 100,000 (~15 MB). */
  readonly maxEntries?: number;
  /** Seconds a pair outlives its answer's TTL. Default 600 (see GRACE_SEC). */
  readonly graceSec?: number;
}

/**
 * Why ten minutes past the TTL: the firewall hears of a blocked connection only when its collector reads
 * the kernel's hit sets (every `firewall.hit_poll_interval`, 2 s by default, and later when the daemon is
 * busy), and clients keep using an answer well past its TTL — stub and browser caches, apps that pin an
 * address and retry for minutes, and the short TTLs (30–300 s) that many listed names carry. Much longer
 * would name a domain for an address that has since been handed to someone else.
 */
export const GRACE_SEC = 600;
const MAX_ENTRIES = 100_000;

const words = new Uint32Array(4);

/**
 * One spelling per address, whatever printed it (the socket's "::ffff:192.0.2.1", an answer's expanded
 * IPv6, nft's compressed one), so the resolver's notes and the firewall's hits meet. undefined: not an address.
 */
export function addressKey(ip: string): string | undefined {
  if (parseV4(ip) >= 0) return ip;
  const f = parseV6(ip, words);
  if (f === 4) return v4Text(words[0]!);
  if (f === 6) return v6Text(words);
  return undefined;
}

/**
 * What each LAN client looked up and which addresses the answers gave it, so a connection the firewall
 * blocks can be reported with the name behind it ("203.0.113.66 (login-paypal.example)"). Lives in each
 * resolver worker; bounded (oldest evicted) and expiring at the answer's TTL plus a grace period. When
 * several names resolved to one address for one client (a CDN), the one looked up last is kept.
 */
export class ResolvedNames {
  /**
   * Two generations instead of one LRU Map: notes go into `young`; when it holds half the cap it becomes
   * `old` and the previous `old` is dropped whole. A pair noted or found again lives on in `young`. Deleting
   * entries one by one from a 100k Map (the LRU way) cost ~1 µs per answer in rehashing; this costs none.
   */
  private young = new Map<string, Pair>();
  private old = new Map<string, Pair>();
  private readonly half: number;
  private readonly graceMs: number;
  private gen = 0;

  constructor(o: ResolvedNamesOptions = {}) {
    this.half = Math.max(1, Math.floor(Math.max(2, o.maxEntries ?? MAX_ENTRIES) / 2));
    this.graceMs = Math.max(0, o.graceSec ?? GRACE_SEC) * 1000;
  }

  /** Pairs held (expired ones included until their generation goes); at most maxEntries. */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /**
   * Changes whenever a pair may have left the young generation (a generation change, a prune). While it stays the
   * same, pairs just noted are still held: a caller that noted (client, name, ips) for one cached answer may skip
   * noting the same answer to the same client again (the resolver does so for cache hits).
   */
  get generation(): number {
    return this.gen;
  }

  private put(key: string, p: Pair): void {
    if (this.young.size >= this.half && !this.young.has(key)) {
      this.old = this.young;
      this.young = new Map();
      this.gen++;
    }
    this.young.set(key, p);
  }

  /** An answer went to `client`: `name` resolved to `ips` (A/AAAA and HTTPS hints) for `ttlSec`. */
  note(client: string, name: string, ips: readonly string[], ttlSec: number, now: number): void {
    if (ips.length === 0 || name === '') return;
    const c = addressKey(client);
    if (c === undefined) return;
    const until = now + Math.max(0, Number.isFinite(ttlSec) ? ttlSec : 0) * 1000 + this.graceMs;
    for (const ip of ips) {
      const r = addressKey(ip);
      if (r !== undefined) this.put(`${c} ${r}`, { name, until });
    }
  }

  /** The name `client` looked up that gave it `remote`, while that answer (plus grace) lasts. */
  lookup(client: string, remote: string, now: number): string | undefined {
    const c = addressKey(client);
    const r = addressKey(remote);
    if (c === undefined || r === undefined) return undefined;
    const key = `${c} ${r}`;
    let e = this.young.get(key);
    if (e === undefined) {
      e = this.old.get(key);
      // Asked for again (the firewall keeps seeing the connection): keep it past the next generation change.
      if (e !== undefined && e.until > now) this.put(key, e);
    }
    return e !== undefined && e.until > now ? e.name : undefined;
  }

  /** `lookup` for each pair, in the same order (what the daemon asks a worker when the firewall records hits). */
  lookupMany(pairs: readonly ResolvedPair[], now: number): (string | undefined)[] {
    return pairs.map((p) => this.lookup(p.client, p.remote, now));
  }

  /** Drops expired pairs (a worker may call it now and then so memory follows the traffic); returns how many. */
  prune(now: number): number {
    this.gen++;
    let n = 0;
    for (const m of [this.young, this.old]) {
      for (const [k, e] of m) {
        if (e.until <= now) {
          m.delete(k);
          n++;
        }
      }
    }
    return n;
  }
}

interface Pair {
  readonly name: string;
  readonly until: number;
}
