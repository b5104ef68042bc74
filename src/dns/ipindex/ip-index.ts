import { HostTable, type HostTableState } from './host-table.js';
import { parseV4, parseV6, v4Text, v6Text } from './parse.js';
import { RangeTable, wins, type RangeTableState } from './range-table.js';

/** One outbound decision as the index holds it: a value (IP or CIDR) and what to say about it. */
export interface IpEntry {
  /** Canonical IP or CIDR text, as the decision store writes it ("203.0.113.0/24", "2001:db8::1"). */
  readonly target: string;
  /** Who listed it: 'feed:phishing_db', 'crowdsec', 'manual', … */
  readonly origin: string;
  readonly scenario?: string;
  readonly reason?: string;
  readonly decisionId?: number;
  /** Epoch ms; null or absent = never. */
  readonly expiresAt?: number | null;
}

/** An allow entry: addresses it covers are never reported, whatever decision lists them (as in the firewall). */
export interface IpAllow {
  readonly target: string;
  readonly expiresAt?: number | null;
}

/**
 * Changes since the last snapshot or delta. `add` replaces whatever the index held for that value; `remove`
 * names values by target text; `allow`, when present, is the whole allowlist (it is small).
 */
export interface IpDelta {
  readonly add: readonly IpEntry[];
  readonly remove: readonly string[];
  readonly allow?: readonly IpAllow[];
}

/** Why an answer address is listed: enough for "203.0.113.66 is in 203.0.113.0/24, listed by feed:phishing_db". */
export interface IpHit {
  /** The decision's value: the address itself or the most specific range holding it. */
  readonly target: string;
  readonly origin: string;
  readonly scenario?: string;
  readonly reason?: string;
  readonly decisionId?: number;
}

/** The index as plain typed arrays and a few strings: what crosses to a resolver worker (IPC, advanced serialization). */
export interface IpIndexTransfer {
  readonly version: 1;
  /** origin, scenario, reason of each label, flattened. */
  readonly labels: readonly string[];
  readonly h4: HostTableState;
  readonly h6: HostTableState;
  readonly r4: RangeTableState;
  readonly r6: RangeTableState;
  readonly a4: RangeTableState;
  readonly a6: RangeTableState;
}

export class IpIndexError extends Error {
  override name = 'IpIndexError';
}

const scratch = new Uint32Array(4);

/**
 * A clock read at most every 250 ms, for lookups that pass none: Date.now() cost ~0.1–0.9 µs per call on
 * this project's VMs, as much as the lookup itself, and expiry is only kept to the second anyway.
 */
let coarse = 0;
let coarseTimer: NodeJS.Timeout | undefined;
function coarseNow(): number {
  if (coarseTimer === undefined) {
    coarse = Date.now();
    coarseTimer = setInterval(() => (coarse = Date.now()), 250);
    coarseTimer.unref();
  }
  return coarse;
}

/** Epoch ms → whole epoch seconds, rounded up (the kernel's timeouts are whole seconds too); 0 = never. */
function expSec(ms: number | null | undefined): number {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return 0;
  return Math.max(1, Math.min(0xffffffff, Math.ceil(ms / 1000)));
}

/** Parses a target into `scratch`; returns [family, prefix]. */
function parseTargetText(text: string): [4 | 6, number] {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  let family: 4 | 6;
  let bits: number;
  const v4 = parseV4(addr);
  if (v4 >= 0) {
    scratch[0] = v4;
    family = 4;
    bits = 32;
  } else {
    const f = parseV6(addr, scratch);
    if (f === -1) throw new IpIndexError(`not an IP address or CIDR range: ${JSON.stringify(text.slice(0, 80))}`);
    family = f;
    bits = f === 4 ? 32 : 128;
  }
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) throw new IpIndexError(`bad prefix length in ${JSON.stringify(text.slice(0, 80))}`);
    prefix = Number(p) - (family === 4 && addr.includes(':') ? 96 : 0);
    if (prefix < 0 || prefix > bits) throw new IpIndexError(`prefix length out of range in ${JSON.stringify(text.slice(0, 80))}`);
  }
  return [family, prefix];
}

/**
 * Longest-prefix match of answer addresses against the active outbound decisions, with the allowlist
 * winning, in both families. Built once (daemon side, from the store), sent to each resolver worker as
 * typed arrays, and kept current with small deltas.
 */
export class IpIndex {
  private labelText: string[] = [];
  private labelIds: Map<string, number> | undefined = new Map();
  private h4 = new HostTable(1);
  private h6 = new HostTable(4);
  private r4 = new RangeTable(1);
  private r6 = new RangeTable(4);
  private a4 = new RangeTable(1);
  private a6 = new RangeTable(4);

  /** Builds from entries and allow entries; several entries on one value: the longest-lasting, then the newest, is kept. */
  static build(entries: Iterable<IpEntry>, allow: Iterable<IpAllow> = []): IpIndex {
    const ix = new IpIndex();
    for (const e of entries) ix.put(e);
    for (const a of allow) ix.putAllow(a);
    return ix.seal();
  }

  /** Sizes a fresh index's host tables for a bulk build (saves rehashing a million hosts). */
  static withCapacity(hosts4: number, hosts6 = 0): IpIndex {
    const ix = new IpIndex();
    ix.h4 = new HostTable(1, hosts4);
    ix.h6 = new HostTable(4, hosts6);
    return ix;
  }

  /** The last label asked for: a store read gives runs of rows from one feed with the same origin and scenario. */
  private lastLabel = { origin: '', scenario: '', reason: '', id: -1 };

  private label(origin: string, scenario: string, reason: string): number {
    const last = this.lastLabel;
    if (last.id >= 0 && last.origin === origin && last.scenario === scenario && last.reason === reason) return last.id;
    const id = this.labelOf(origin, scenario, reason);
    this.lastLabel = { origin, scenario, reason, id };
    return id;
  }

  private labelOf(origin: string, scenario: string, reason: string): number {
    if (!this.labelIds) {
      this.labelIds = new Map();
      for (let i = 0; i * 3 < this.labelText.length; i++) this.labelIds.set(`${this.labelText[i * 3]}\n${this.labelText[i * 3 + 1]}\n${this.labelText[i * 3 + 2]}`, i);
    }
    const key = `${origin}\n${scenario}\n${reason}`;
    let id = this.labelIds.get(key);
    if (id === undefined) {
      id = this.labelText.length / 3;
      this.labelText.push(origin, scenario, reason);
      this.labelIds.set(key, id);
    }
    return id;
  }

  /** Bulk add (before `seal()`): keeps the winning decision per value. */
  put(e: IpEntry): void {
    const [family, prefix] = parseTargetText(e.target);
    this.putWords(family, scratch, prefix, e.origin, e.scenario ?? '', e.reason ?? '', e.decisionId ?? 0, e.expiresAt);
  }

  /**
   * Bulk add from words (IPv4: one, IPv6: four, from `w[0]`); for the feed, which reads the store's start
   * bytes and skips parsing text.
   */
  putWords(family: 4 | 6, w: Uint32Array, prefix: number, origin: string, scenario: string, reason: string, id: number, expiresAt: number | null | undefined): void {
    const label = this.label(origin, scenario, reason);
    const exp = expSec(expiresAt);
    const dId = id > 0 && id <= 0xffffffff ? id : 0;
    const bits = family === 4 ? 32 : 128;
    if (prefix === bits) {
      const t = family === 4 ? this.h4 : this.h6;
      const slot = t.find(w, 0);
      if (slot >= 0 && !wins(exp, dId, t.exp[slot]!, t.ids[slot]!)) return;
      t.set(w, 0, label, dId, exp);
    } else (family === 4 ? this.r4 : this.r6).push(w, 0, prefix, label, dId, exp);
  }

  putAllow(a: IpAllow): void {
    const [family, prefix] = parseTargetText(a.target);
    (family === 4 ? this.a4 : this.a6).push(scratch, 0, prefix, 0, 0, expSec(a.expiresAt));
  }

  /** Ends a bulk build: flattens the ranges. */
  seal(): this {
    this.r4.rebuild();
    this.r6.rebuild();
    this.a4.rebuild();
    this.a6.rebuild();
    return this;
  }

  /**
   * Applies changes in place: removals first, then additions (which replace), then the allowlist. Throws
   * IpIndexError on a bad value, changing nothing. The range segments are rebuilt at most once, at the end
   * (one rebuild of 100k ranges is ~50 ms; one per 33 added ranges stalled a worker for minutes on a big
   * import); `defer` leaves even that to a later `settle()`. Returns whether the segments were rebuilt.
   */
  apply(delta: IpDelta, defer = false): boolean {
    // Checked first, so a delta with one bad value changes nothing (the sender's copy and ours stay equal).
    for (const t of delta.remove) parseTargetText(t);
    for (const e of delta.add) parseTargetText(e.target);
    for (const a of delta.allow ?? []) parseTargetText(a.target);
    for (const t of delta.remove) {
      const [family, prefix] = parseTargetText(t);
      if (prefix === (family === 4 ? 32 : 128)) (family === 4 ? this.h4 : this.h6).delete(scratch, 0);
      else (family === 4 ? this.r4 : this.r6).delete(scratch, 0, prefix, true);
    }
    for (const e of delta.add) {
      const [family, prefix] = parseTargetText(e.target);
      const label = this.label(e.origin, e.scenario ?? '', e.reason ?? '');
      const id = e.decisionId !== undefined && e.decisionId > 0 && e.decisionId <= 0xffffffff ? e.decisionId : 0;
      const exp = expSec(e.expiresAt);
      if (prefix === (family === 4 ? 32 : 128)) (family === 4 ? this.h4 : this.h6).set(scratch, 0, label, id, exp);
      else (family === 4 ? this.r4 : this.r6).set(scratch, 0, prefix, label, id, exp, true);
    }
    if (delta.allow) {
      this.a4 = new RangeTable(1);
      this.a6 = new RangeTable(4);
      for (const a of delta.allow) this.putAllow(a);
      this.a4.rebuild();
      this.a6.rebuild();
    }
    return defer ? false : this.settle();
  }

  /** Ends deferred changes: rebuilds the range segments that are due; true when any was rebuilt. */
  settle(): boolean {
    const a = this.r4.settle();
    const b = this.r6.settle();
    return a || b;
  }

  /**
   * Why this answer address is listed, or undefined (not listed, allowed, or not an address). `now`: epoch
   * ms; without it a clock refreshed every 250 ms is used.
   */
  lookup(ip: string, now = coarseNow()): IpHit | undefined {
    const v4 = parseV4(ip);
    if (v4 >= 0) return this.lookup4(v4, now);
    const f = parseV6(ip, scratch);
    if (f === 4) return this.lookup4(scratch[0]!, now);
    if (f === 6) return this.lookup6(scratch, 0, now);
    return undefined;
  }

  lookup4(ip: number, now = coarseNow()): IpHit | undefined {
    const nowS = now / 1000;
    if (this.a4.segN > 0 || this.a4.overlay.length > 0) {
      if (this.a4.find4(ip, nowS) >= 0) return undefined;
    }
    const h = this.h4;
    if (h.size > 0) {
      const s = h.find4(ip);
      if (s >= 0) {
        const x = h.exp[s]!;
        if (x === 0 || x > nowS) return this.hit(v4Text(ip), h.labels[s]! - 1, h.ids[s]!);
      }
    }
    const e = this.r4.find4(ip, nowS);
    if (e < 0) return undefined;
    return this.hit(`${v4Text(this.r4.start[e]!)}/${this.r4.prefix[e]}`, this.r4.labels[e]!, this.r4.ids[e]!);
  }

  lookup6(w: Uint32Array, at = 0, now = coarseNow()): IpHit | undefined {
    const nowS = now / 1000;
    if ((this.a6.segN > 0 || this.a6.overlay.length > 0) && this.a6.find6(w, at, nowS) >= 0) return undefined;
    const h = this.h6;
    if (h.size > 0) {
      const s = h.find6(w, at);
      if (s >= 0) {
        const x = h.exp[s]!;
        if (x === 0 || x > nowS) return this.hit(v6Text(w, at), h.labels[s]! - 1, h.ids[s]!);
      }
    }
    const e = this.r6.find6(w, at, nowS);
    if (e < 0) return undefined;
    return this.hit(`${v6Text(this.r6.start, e * 4)}/${this.r6.prefix[e]}`, this.r6.labels[e]!, this.r6.ids[e]!);
  }

  private hit(target: string, label: number, id: number): IpHit {
    const t = this.labelText;
    // One object shape, optional fields left out rather than undefined (JSON and deepEqual stay clean).
    const h: { target: string; origin: string; scenario?: string; reason?: string; decisionId?: number } = { target, origin: t[label * 3]! };
    const scenario = t[label * 3 + 1]!;
    const reason = t[label * 3 + 2]!;
    if (scenario !== '') h.scenario = scenario;
    if (reason !== '') h.reason = reason;
    if (id > 0) h.decisionId = id;
    return h;
  }

  /** Values held (hosts and ranges, both families) and allow entries. */
  get size(): { hosts: number; ranges: number; allow: number } {
    return { hosts: this.h4.size + this.h6.size, ranges: this.r4.size + this.r6.size, allow: this.a4.size + this.a6.size };
  }

  /** Bytes of the typed arrays (the strings of the labels aside). */
  get bytes(): number {
    return [this.h4, this.h6, this.r4, this.r6, this.a4, this.a6].reduce((n, t) => n + t.bytes, 0);
  }

  toTransfer(): IpIndexTransfer {
    return {
      version: 1,
      labels: this.labelText,
      h4: this.h4.state(),
      h6: this.h6.state(),
      r4: this.r4.state(),
      r6: this.r6.state(),
      a4: this.a4.state(),
      a6: this.a6.state(),
    };
  }

  static fromTransfer(t: IpIndexTransfer): IpIndex {
    if (t?.version !== 1) throw new IpIndexError('IP index transfer: unknown version');
    checkTransfer(t);
    const ix = new IpIndex();
    ix.labelText = [...t.labels];
    ix.labelIds = undefined;
    ix.h4 = new HostTable(1, 0, t.h4);
    ix.h6 = new HostTable(4, 0, t.h6);
    ix.r4 = new RangeTable(1, t.r4);
    ix.r6 = new RangeTable(4, t.r6);
    ix.a4 = new RangeTable(1, t.a4);
    ix.a6 = new RangeTable(4, t.a6);
    return ix;
  }
}

/**
 * The shape checks that keep a damaged transfer from hanging a worker (a host table without a free slot
 * would make every miss probe forever) or reading past its arrays: a clear error instead.
 */
function checkTransfer(t: IpIndexTransfer): void {
  const bad = (what: string): never => {
    throw new IpIndexError(`IP index transfer: ${what}`);
  };
  if (!Array.isArray(t.labels) || t.labels.length % 3 !== 0 || t.labels.some((x) => typeof x !== 'string')) bad('labels');
  const labels = t.labels.length / 3;
  for (const [name, h, W] of [['h4', t.h4, 1], ['h6', t.h6, 4]] as const) {
    if (!h || h.words !== W || !(h.keys instanceof Uint32Array) || !(h.labels instanceof Uint32Array) || !(h.ids instanceof Uint32Array) || !(h.exp instanceof Uint32Array)) bad(name);
    if (!Number.isInteger(h.cap) || h.cap < 1 || h.keys.length !== h.cap * W || h.labels.length !== h.cap || h.ids.length !== h.cap || h.exp.length !== h.cap) bad(`${name} sizes`);
    let used = 0;
    let maxLabel = 0;
    const hl = h.labels;
    for (let i = 0; i < hl.length; i++) {
      const l = hl[i]!;
      if (l !== 0) {
        used++;
        if (l > maxLabel) maxLabel = l;
      }
    }
    if (maxLabel > labels) bad(`${name} label out of range`);
    if (used !== h.size || used >= h.cap) bad(`${name} size`);
  }
  for (const [name, r, W] of [['r4', t.r4, 1], ['r6', t.r6, 4], ['a4', t.a4, 1], ['a6', t.a6, 4]] as const) {
    if (!r || r.words !== W || !Number.isInteger(r.n) || !Number.isInteger(r.segN) || r.n < 0 || r.segN < 0) bad(name);
    const typed = [[r.start, Uint32Array, r.n * W], [r.prefix, Uint8Array, r.n], [r.labels, Uint32Array, r.n], [r.ids, Uint32Array, r.n], [r.exp, Uint32Array, r.n],
      [r.parent, Int32Array, r.n], [r.alive, Uint8Array, r.n], [r.segStart, Uint32Array, r.segN * W], [r.segEntry, Int32Array, r.segN]] as const;
    for (const [a, T, len] of typed) if (!(a instanceof T) || a.length !== len) bad(`${name} arrays`);
    if (!(r.overlay instanceof Int32Array)) bad(`${name} overlay`);
    const se = r.segEntry;
    for (let i = 0; i < se.length; i++) if (se[i]! < -1 || se[i]! >= r.n) bad(`${name} segment entry out of range`);
    const maxLabelHere = name[0] === 'r' ? Math.max(labels, 1) : 1;
    for (let e = 0; e < r.n; e++) {
      // Parents come earlier in address order, so following them always ends.
      const p = r.parent[e]!;
      if (p < -1 || p >= e) bad(`${name} parent out of range`);
      if (r.prefix[e]! > W * 32 || r.labels[e]! >= maxLabelHere) bad(`${name} entry ${e}`);
    }
    for (const o of r.overlay) if (o < 0 || o >= r.n) bad(`${name} overlay out of range`);
  }
}
