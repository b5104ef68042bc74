import { AllUpstreamsFailed, type AnswerFacts, blockedReply, buildQuery, DnsCache, DomainIndex, errorReply, fitUdp, inspectAnswer, IpIndex, isWireError, localReply, parseQuery, ResolvedNames, UpstreamRouter, wireErrorReply, type IpDelta, type IpIndexTransfer, type Query } from '../parts.js';
import { covers, tryParseTarget, type Target } from '../../net/ip.js';
import type { ClientTag, GroupTable, LocalHost, WorkerSettings } from '../ipc.js';
import { emptyCounters, type DnsCounters, type DnsExplain } from '../types.js';
import { LatencyRecorder, R_BLOCKED, R_CACHED, R_FORWARDED, R_LOCAL, R_SERVFAIL } from '../latency.js';
import type { QueryRecord as LoggedQuery } from '../querylog/types.js';
import { DOH_CANARY, isPrivateAddress, LocalNames } from './special.js';

/*
 * The resolver chain of one worker (DNS-DESIGN.md): parse → special names → client group → name policy →
 * cache → upstream → answer inspection → cache store → reply → log. Every link is a plain step on data this
 * class holds; the sockets live in main.ts/tcp.ts.
 */

/** What the query log keeps of one answer (H6's QueryRecord, filled in as the chain goes). */
type QueryRecord = { -readonly [K in keyof LoggedQuery]: LoggedQuery[K] };

export interface QueryLogSink {
  push(r: LoggedQuery): void;
}

/** Filled in when `dns query` asks why. */
interface Trace {
  group: string;
  verdict: DnsExplain['verdict'];
  why: string;
  answers: string[];
  cached: boolean;
  upstream?: string;
}

/** Our EDNS UDP size (DNS flag day 2020): larger answers go over TCP rather than as IP fragments. */
const OUR_UDP_SIZE = 1232;
const EDE_BLOCKED = 15;
const EDE_FILTERED = 17;
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** finish()'s result when the query is not (or already) in the latency histogram. */
const NOT_TIMED = -1;

function underAny(name: string, suffixes: readonly string[]): boolean {
  for (const s of suffixes) if (name === s || (name.length > s.length && name.endsWith(s) && name.charCodeAt(name.length - s.length - 1) === 46)) return true;
  return false;
}

/**
 * What the chain learnt of one upstream answer, stored with it in the cache so a hit is not walked again: the
 * addresses and CNAME targets the checks need, and what was done once for it.
 */
interface Seen {
  readonly addresses: readonly string[];
  readonly cnameTargets: readonly string[];
  /** The first private address among `addresses`: undefined until looked for, null when there is none. */
  privateAddress: string | null | undefined;
  /** The client this answer was last noted in ResolvedNames for, and ResolvedNames' generation then. */
  notedFor: string | undefined;
  notedGen: number;
}

function seenOf(f: AnswerFacts): Seen {
  return { addresses: f.addresses, cnameTargets: f.cnameTargets, privateAddress: undefined, notedFor: undefined, notedGen: -1 };
}

export class Resolver {
  readonly counters: DnsCounters = emptyCounters();
  /** Answer times of the clients' queries (not `dns query`'s), reported with the counters. */
  readonly latency = new LatencyRecorder();
  readonly cache: DnsCache<Seen>;
  private readonly router: UpstreamRouter;
  private domains = DomainIndex.empty();
  private ips = IpIndex.build([]);
  private groups = new Map<string, readonly [string, number]>();
  private groupRanges: { t: Target; g: readonly [string, number] }[] = [];
  private defaultGroup: readonly [string, number] = ['default', -1];
  readonly local: LocalNames;
  readonly resolved = new ResolvedNames();
  /** LAN address → device, so the query log names the client. */
  private who = new Map<string, { mac: string; name: string | null }>();
  /** Takes the record's writes when neither the query log nor `dns query` reads them. */
  private readonly scratch: QueryRecord = { t: 0, client: '', name: '', qtype: 0, rcode: 0, latencyUs: 0, cached: false };

  constructor(
    private readonly s: WorkerSettings,
    private readonly log: QueryLogSink | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.cache = new DnsCache<Seen>({ maxEntries: s.cache.size, maxBytes: s.cache.maxBytes, minTtl: s.cache.minTtlSec, maxTtl: s.cache.maxTtlSec, negativeTtlMax: s.cache.negativeMaxTtlSec });
    this.router = UpstreamRouter.fromConfig({ upstreams: s.upstreams, forward: s.forward.map((f) => ({ domain: f.domain, upstream: f.upstreams })), strategy: s.strategy, timeoutMs: s.upstreamTimeoutMs });
    this.local = new LocalNames(s.localDomain);
  }

  setDomains(index: DomainIndex): void {
    // The cache keeps upstream answers only; the lists are applied on every query (cached or not), so a
    // new index takes effect at once without emptying the cache.
    this.domains = index;
  }

  setIps(t: IpIndexTransfer): void {
    this.ips = IpIndex.fromTransfer(t);
  }

  applyIps(d: IpDelta): void {
    this.ips.apply(d);
  }

  setGroups(t: GroupTable): void {
    this.groups = new Map(t.clients.map(([ip, g, m]) => [ip, [g, m] as const]));
    this.groupRanges = t.ranges.flatMap(([cidr, g, m]) => {
      const target = tryParseTarget(cidr);
      return target ? [{ t: target, g: [g, m] as const }] : [];
    });
    this.defaultGroup = [t.defaultGroup, t.defaultMask];
  }

  setLocal(hosts: readonly LocalHost[], devices: readonly ClientTag[] = []): void {
    this.local.load(hosts);
    this.who = new Map(devices.map(([ip, mac, name]) => [ip, { mac, name }]));
  }

  private groupOf(client: string): readonly [string, number] {
    const exact = this.groups.get(client);
    if (exact) return exact;
    if (this.groupRanges.length > 0) {
      const t = tryParseTarget(client);
      if (t) for (const r of this.groupRanges) if (covers(r.t, t)) return r.g;
    }
    return this.defaultGroup;
  }

  upstreamHealth() {
    return this.router.health().flatMap((g) => g.upstreams.map((u) => ({ name: g.domain ? `${u.name} (${g.domain})` : u.name, ok: u.ok, latencyMs: Math.round(u.latencyMs * 10) / 10, errors: u.errors })));
  }

  /** Prefetch: popular names close to expiry are asked again so their next query is a cache hit. */
  async prefetch(): Promise<void> {
    if (!this.s.cache.prefetch) return;
    for (const q of this.cache.prefetchDue(this.now())) {
      const msg = buildQuery(q, Math.floor(Math.random() * 65536));
      if (!msg) continue;
      try {
        const { reply } = await this.router.resolve(msg, q.name);
        const facts = inspectAnswer(reply);
        if (!isWireError(facts)) this.cache.set(q, reply, facts, this.now(), seenOf(facts));
      } catch {
        // The entry expires as usual; the next query asks upstream.
      }
    }
  }

  /** One query in, one reply out (undefined: drop). Never throws: bad input is FORMERR or dropped. */
  async handle(msg: Buffer, client: string, tcp: boolean, trace?: Trace): Promise<Buffer | undefined> {
    return this.handleNow(msg, client, tcp, trace);
  }

  /**
   * handle(), answered synchronously when no upstream is asked (blocked, cached, local, errors): a Promise only
   * for the queries that wait for an upstream. Why: a Promise, its microtask and the closures around it cost more
   * than the rest of a cache hit.
   */
  handleNow(msg: Buffer, client: string, tcp: boolean, trace?: Trace): Buffer | undefined | Promise<Buffer | undefined> {
    // `dns query` is not a client's query: its counts go nowhere.
    const c = trace ? emptyCounters() : this.counters;
    const parsed = parseQuery(msg);
    if (isWireError(parsed)) {
      const reply = wireErrorReply(parsed, msg);
      if (reply) c.formerr++;
      return reply;
    }
    const q = parsed;
    c.queries++;
    if (tcp) c.tcp++;
    const now = this.now();
    // The record is filled in for the query log and for `dns query`; without either, one scratch object takes
    // the writes (nothing reads it).
    let record = this.scratch;
    if (trace || this.log) {
      // A plain literal: spreading (even an empty object) in it is a runtime call per query.
      record = { t: now, client, name: q.name, qtype: q.qtype, rcode: 0, latencyUs: 0, cached: false };
      const dev = this.who.get(client);
      if (dev) {
        record.mac = dev.mac;
        if (dev.name) record.clientName = dev.name;
      }
    }
    // With the query log on (the default) this clock reading was taken anyway; the histogram shares it.
    const started = performance.now();
    // A synchronous answer's result is read off the counters it moved (nothing else runs meanwhile): cheaper
    // than carrying a result out of every link.
    const blocked0 = c.blocked;
    const servfail0 = c.servfail;
    const cached0 = c.cached;
    let reply: Buffer | Promise<Buffer>;
    try {
      reply = this.answer(q, msg, client, record, c, now, trace, started);
    } catch (e) {
      reply = this.failed(q, msg, c, e);
    }
    if (!(reply instanceof Promise)) {
      const result = trace ? NOT_TIMED : c.blocked !== blocked0 ? R_BLOCKED : c.servfail !== servfail0 ? R_SERVFAIL : c.cached !== cached0 ? R_CACHED : R_LOCAL;
      return this.finish(q, reply, tcp, record, c, started, trace, result);
    }
    // fromUpstream() times its own answers; a link that threw did not.
    return reply.then(
      (r) => this.finish(q, r, tcp, record, c, started, trace, NOT_TIMED),
      (e: unknown) => this.finish(q, this.failed(q, msg, c, e), tcp, record, c, started, trace, trace ? NOT_TIMED : R_SERVFAIL),
    );
  }

  /** A bug in a link must cost one answer, never the worker. */
  private failed(q: Query, msg: Buffer, c: DnsCounters, e: unknown): Buffer {
    c.servfail++;
    return errorReply(q, msg, 'SERVFAIL', { code: 0, text: (e instanceof Error ? e.message : String(e)).slice(0, 100) });
  }

  private finish(q: Query, reply: Buffer, tcp: boolean, record: QueryRecord, c: DnsCounters, started: number, trace: Trace | undefined, result: number): Buffer {
    if (!tcp) {
      const max = Math.min(q.ednsUdpSize ?? 512, OUR_UDP_SIZE);
      if (reply.length > max) {
        c.truncated++;
        reply = fitUdp(reply, max);
      }
    }
    // `dns query` runs the chain to explain it: not a client's query, so not in the log.
    const logged = !trace && this.log !== undefined && record !== this.scratch;
    if (result === NOT_TIMED && !logged) return reply;
    const ms = performance.now() - started;
    if (result !== NOT_TIMED) this.latency.observe(result, ms);
    if (logged) {
      record.rcode = reply.length >= 4 ? reply[3]! & 0xf : 2;
      record.latencyUs = Math.round(ms * 1000);
      this.log!.push(record);
    }
    return reply;
  }

  private blocked(q: Query, msg: Buffer, record: QueryRecord, c: DnsCounters, trace: Trace | undefined, by: NonNullable<QueryRecord['blocked']>['by'], what: string, why: string, code = EDE_BLOCKED): Buffer {
    c.blocked++;
    record.blocked = { by, what };
    if (trace) Object.assign(trace, { verdict: 'blocked', why });
    return blockedReply(q, msg, this.s.blockAnswer, { code, text: why.slice(0, 120) }, this.s.blockTtlSec);
  }

  private answer(q: Query, msg: Buffer, client: string, record: QueryRecord, c: DnsCounters, now: number, trace: Trace | undefined, started: number): Buffer | Promise<Buffer> {
    if (q.name === DOH_CANARY) {
      record.blocked = { by: 'canary', what: DOH_CANARY };
      if (trace) Object.assign(trace, { verdict: 'special', why: 'the DoH canary: answered NXDOMAIN so browsers keep using this resolver' });
      return errorReply(q, msg, 'NXDOMAIN');
    }
    const [group, mask] = this.groupOf(client);
    if (trace) trace.group = group;
    if (q.qtype === 12) {
      const ptr = this.local.ptr(q.name);
      if (ptr !== undefined) {
        if (trace) Object.assign(trace, { verdict: 'local', why: ptr ? `a LAN device: ${ptr}` : 'a private address with no LAN name (never asked upstream)', answers: ptr ? [ptr] : [] });
        return ptr ? localReply(q, msg, [{ type: 'PTR', data: ptr, ttl: 60 }]) : errorReply(q, msg, 'NXDOMAIN');
      }
    }
    const local = this.local.addresses(q.name);
    if (local !== undefined) {
      const want: 'A' | 'AAAA' | undefined = q.qtype === 1 ? 'A' : q.qtype === 28 ? 'AAAA' : undefined;
      const answers = want ? local.filter((ip) => ip.includes(':') === (want === 'AAAA')).map((data) => ({ type: want, data, ttl: 60 })) : [];
      if (trace) Object.assign(trace, { verdict: 'local', why: local.length ? 'a LAN device by name' : `under the local domain but no device has this name`, answers: answers.map((a) => a.data) });
      return local.length === 0 ? errorReply(q, msg, 'NXDOMAIN') : localReply(q, msg, answers);
    }
    const policy = this.domains.match(q.name, mask);
    if (policy.verdict === 'block') {
      const list = this.s.listNames[policy.list ?? -1] ?? 'config';
      return this.blocked(q, msg, record, c, trace, 'list', `${list}:${policy.matched}`, `blocked by list ${list} (${policy.matched}) for group ${group}`);
    }
    const hit = this.cache.get(q, now, msg);
    if (hit) {
      c.cached++;
      record.cached = true;
      if (trace) trace.cached = true;
      let seen = this.cache.hitMeta;
      if (seen === undefined) {
        // Stored without what the chain learnt of it (cannot happen through this class; kept safe anyway).
        const facts = inspectAnswer(hit);
        if (isWireError(facts)) return this.unreadable(q, msg, c);
        seen = seenOf(facts);
      }
      return this.checked(q, msg, client, record, c, now, trace, group, mask, policy, hit, seen, this.cache.hitTtlLeft);
    }
    return this.fromUpstream(q, msg, client, record, c, trace, group, mask, policy, started);
  }

  private async fromUpstream(q: Query, msg: Buffer, client: string, record: QueryRecord, c: DnsCounters, trace: Trace | undefined, group: string, mask: number, policy: ReturnType<DomainIndex['match']>, started: number): Promise<Buffer> {
    const timed = c === this.counters;
    let got: Awaited<ReturnType<UpstreamRouter['resolve']>>;
    try {
      got = await this.router.resolve(msg, q.name);
    } catch (e) {
      c.servfail++;
      if (trace) Object.assign(trace, { verdict: 'servfail', why: (e as Error).message });
      if (timed) this.latency.observe(R_SERVFAIL, performance.now() - started);
      return errorReply(q, msg, 'SERVFAIL', { code: 22, text: e instanceof AllUpstreamsFailed ? 'no upstream answered' : 'upstream error' });
    }
    c.upstreamUs += Math.round(got.ms * 1000);
    c.upstreamCount++;
    record.upstream = got.upstream;
    if (trace) trace.upstream = got.upstream;
    const reply = got.reply;
    reply.writeUInt16BE(q.id, 0);
    const facts = inspectAnswer(reply);
    if (isWireError(facts)) {
      if (timed) this.latency.observe(R_SERVFAIL, performance.now() - started);
      return this.unreadable(q, msg, c);
    }
    const seen = seenOf(facts);
    const now = this.now();
    this.cache.set(q, reply, facts, now, seen);
    // From here to the return nothing else runs: the counters tell this query's result.
    const blocked0 = c.blocked;
    const out = this.checked(q, msg, client, record, c, now, trace, group, mask, policy, reply, seen, facts.minTtl);
    if (timed) this.latency.observe(c.blocked !== blocked0 ? R_BLOCKED : R_FORWARDED, performance.now() - started);
    return out;
  }

  private unreadable(q: Query, msg: Buffer, c: DnsCounters): Buffer {
    c.servfail++;
    return errorReply(q, msg, 'SERVFAIL', { code: 0, text: 'upstream answer could not be read' });
  }

  /**
   * The answer's checks, on every answer, cached or not (lists and the IP index change while entries live):
   * CNAME targets through the lists, addresses through the IP index, rebinding; then ResolvedNames and the log.
   */
  private checked(q: Query, msg: Buffer, client: string, record: QueryRecord, c: DnsCounters, now: number, trace: Trace | undefined, group: string, mask: number, policy: ReturnType<DomainIndex['match']>, reply: Buffer, seen: Seen, ttlLeft: number): Buffer {
    const allowed = policy.verdict === 'allow';
    if (!allowed) {
      for (const target of seen.cnameTargets) {
        const m = this.domains.match(target, mask);
        if (m.verdict === 'block') {
          const list = this.s.listNames[m.list ?? -1] ?? 'config';
          return this.blocked(q, msg, record, c, trace, 'list', `${list}:${m.matched}`, `CNAME ${target} blocked by list ${list} (${m.matched}) for group ${group}`);
        }
        if (m.verdict === 'allow') break;
      }
    }
    const addresses = seen.addresses;
    if (this.s.answerCheck !== 'off') {
      for (const a of addresses) {
        const d = this.ips.lookup(a);
        if (!d) continue;
        const what = `${a} is listed: ${d.target} by ${d.origin}${d.scenario ? '/' + d.scenario : ''}${d.decisionId !== undefined ? ` (decision #${d.decisionId})` : ''}`;
        if (this.s.answerCheck === 'enforce') return this.blocked(q, msg, record, c, trace, 'decision', d.target, `answer ${what}`, EDE_FILTERED);
        c.monitored++;
        record.monitored = what;
        break;
      }
    }
    if (this.s.rebinding && addresses.length > 0) {
      // The first private address, found once per stored answer (undefined: not looked for yet, null: none).
      if (seen.privateAddress === undefined) seen.privateAddress = addresses.find(isPrivateAddress) ?? null;
      const priv = seen.privateAddress;
      if (priv !== null && !this.forwarded(q.name) && !underAny(q.name, this.s.rebindingAllow)) {
        return this.blocked(q, msg, record, c, trace, 'rebinding', priv, `rebinding protection: ${q.name} answered a private address ${priv}`);
      }
    }
    if (addresses.length > 0) {
      // One note per (stored answer, client) while ResolvedNames still holds it: a hit noting the same pairs again
      // would change nothing but their expiry, and that stays the answer's own (its TTL counts down with the hit's).
      const gen = this.resolved.generation;
      if (seen.notedFor !== client || seen.notedGen !== gen) {
        this.resolved.note(client, q.name, addresses, ttlLeft, now);
        seen.notedFor = client;
        seen.notedGen = this.resolved.generation;
      }
      if (record !== this.scratch) record.answer = addresses.slice(0, 4).join(',');
    }
    if (trace) {
      const forwarded = this.forwarded(q.name);
      Object.assign(trace, {
        verdict: allowed ? 'allowed' : forwarded ? 'forwarded' : 'resolved',
        why: allowed ? `allowed by list ${this.s.listNames[policy.list ?? -1] ?? 'config'} (${policy.matched})` : forwarded ? 'conditionally forwarded' : `no list blocks it for group ${group}${record.monitored ? `; answer check (monitor): ${record.monitored}` : ''}`,
        answers: [...seen.cnameTargets.map((t) => `CNAME ${t}`), ...addresses],
      });
    }
    return reply;
  }

  private forwarded(name: string): boolean {
    return this.router.forwardedDomain(name) !== undefined;
  }

  /** `gatehouse dns query`: the chain run on a made-up query, with the reasons kept. */
  async explain(name: string, qtypeName: string, client: string): Promise<DnsExplain> {
    const qtype = QTYPES[qtypeName.toUpperCase()] ?? 1;
    const trace: Trace = { group: '', verdict: 'resolved', why: '', answers: [], cached: false };
    const msg = buildQuery({ name: name.toLowerCase().replace(/\.$/, ''), qtype, qclass: 1, cd: false, ednsUdpSize: 1232, dnssecOk: false }, 0);
    if (!msg) throw new Error(`not a domain name: ${name}`);
    const reply = await this.handle(msg, client, true, trace);
    const rcode = reply ? reply[3]! & 0xf : 2;
    return { name, qtype: qtypeName.toUpperCase(), client, group: trace.group, verdict: trace.verdict, why: trace.why, rcode: RCODE_NAMES[rcode] ?? String(rcode), answers: trace.answers, cached: trace.cached, ...(trace.upstream ? { upstream: trace.upstream } : {}) };
  }

  close(): void {
    this.router.close();
  }
}

export const QTYPES: Readonly<Record<string, number>> = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, HTTPS: 65, ANY: 255 };

