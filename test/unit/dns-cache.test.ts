/** The answer cache as clients notice it: TTLs that count down, what is kept how long, and its bounds. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket, { type Answer } from 'dns-packet';
import { buildQuery, DnsCache, inspectAnswer, parseQuery, type AnswerFacts, type Query } from '../../src/dns/index.js';
import type { DnsCacheOptions } from '../../src/dns/index.js';
import { optOf, queryMsg, replyMsg, soa, type QueryOpts } from './helpers/dns-wire-gen.js';

type Decoded = dnsPacket.DecodedPacket & { rcode?: string };
const decode = (b: Buffer): Decoded => dnsPacket.decode(b) as Decoded;
const T0 = 1_800_000_000_000;
const sec = (s: number): number => T0 + s * 1000;

function cache(o: Partial<DnsCacheOptions> = {}): DnsCache {
  return new DnsCache({ maxEntries: 10_000, maxBytes: 4 * 1024 * 1024, minTtl: 0, maxTtl: 86_400, negativeTtlMax: 3600, ...o });
}

function q(name: string, o: QueryOpts = {}): { q: Query; msg: Buffer } {
  const msg = queryMsg(name, o);
  const p = parseQuery(msg);
  assert.ok(!('kind' in p));
  return { q: p, msg };
}

function facts(msg: Buffer): AnswerFacts {
  const f = inspectAnswer(msg);
  assert.ok(!('kind' in f));
  return f;
}

function store(c: DnsCache, query: Query, reply: Buffer, at = T0): void {
  c.set(query, reply, facts(reply), at);
}

const ttls = (p: Decoded, section: 'answers' | 'authorities' = 'answers'): number[] => (p[section] ?? []).map((a) => (a as { ttl: number }).ttl);

const twoA = (name: string, ttl = 300): Buffer =>
  replyMsg(name, {
    id: 1,
    edns: true,
    answers: [
      { type: 'A', name, ttl, data: '198.51.100.10' },
      { type: 'A', name, ttl: ttl + 100, data: '198.51.100.11' },
    ],
  });

describe('DnsCache: what a client gets back', () => {
  it("a cached answer served 30 s later has TTL reduced by 30, under the new querier's ID", () => {
    const c = cache();
    store(c, q('shop.example').q, twoA('shop.example'));
    const later = q('shop.example', { id: 0x7777 });
    const p = decode(c.get(later.q, sec(30))!);
    assert.equal(p.id, 0x7777);
    assert.deepEqual(ttls(p), [270, 370]);
    assert.deepEqual(p.answers!.map((a) => (a as { data: string }).data), ['198.51.100.10', '198.51.100.11']);
    assert.deepEqual(ttls(decode(c.get(later.q, sec(0.9))!)), [300, 400], 'whole seconds only');
  });

  it('the answer expires with its smallest TTL: a miss afterwards', () => {
    const c = cache();
    store(c, q('shop.example').q, twoA('shop.example', 60));
    assert.ok(c.get(q('shop.example').q, sec(59)) !== undefined);
    assert.equal(c.get(q('shop.example').q, sec(60)), undefined);
    assert.deepEqual([c.stats().hits, c.stats().misses], [1, 1]);
    // The expired entry waits for its replacement (overwritten in place) or for eviction.
    store(c, q('shop.example').q, twoA('shop.example', 60), sec(61));
    assert.equal(c.stats().entries, 1);
    assert.ok(c.get(q('shop.example').q, sec(62)) !== undefined);
  });

  it("gets an OPT of its own only when the client sent one, with the client's DO bit; DO and no-DO are kept apart", () => {
    const c = cache();
    store(c, q('shop.example', { edns: 1232 }).q, twoA('shop.example'));
    const plain = decode(c.get(q('shop.example').q, sec(1))!);
    assert.equal(optOf(plain), undefined);
    const edns = decode(c.get(q('shop.example', { edns: 4096 }).q, sec(1))!);
    assert.equal(optOf(edns)?.udpPayloadSize, 1232);
    assert.equal(c.get(q('shop.example', { edns: 1232, dnssecOk: true }).q, sec(1)), undefined, 'DO=1 is another entry');
    store(c, q('shop.example', { edns: 1232, dnssecOk: true }).q, twoA('shop.example'));
    const withDo = decode(c.get(q('shop.example', { edns: 1232, dnssecOk: true }).q, sec(1))!);
    assert.equal(optOf(withDo)!.flags & dnsPacket.DNSSEC_OK, dnsPacket.DNSSEC_OK);
  });

  it("echoes the client's letter case (0x20) and RD bit, and A and AAAA are different entries", () => {
    const c = cache();
    store(c, q('shop.example').q, twoA('shop.example'));
    const mixed = q('ShOp.ExAmPlE', { rd: false });
    const p = decode(c.get(mixed.q, sec(1), mixed.msg)!);
    assert.equal(p.questions![0]!.name, 'ShOp.ExAmPlE');
    assert.equal(p.flag_rd, false);
    assert.equal(c.get(q('shop.example', { type: 'AAAA' }).q, sec(1)), undefined);
  });

  it('rare types are cached like common ones, each under its own type', () => {
    const c = cache();
    const caa = (name: string): Buffer =>
      replyMsg(name, { type: 'CAA', answers: [{ type: 'CAA', name, ttl: 300, data: { flags: 0, tag: 'issue', value: 'letsencrypt.org' } } as Answer] });
    store(c, q('shop.example', { type: 'CAA' }).q, caa('shop.example'));
    assert.equal(decode(c.get(q('shop.example', { type: 'CAA' }).q, sec(10))!).answers![0]!.type, 'CAA');
    assert.equal(c.get(q('shop.example', { type: 'CAA', dnssecOk: true, edns: 1232 }).q, sec(10)), undefined);
    assert.equal(c.get(q('shop.example').q, sec(10)), undefined);
  });

  it('hands out copies: changing one served answer changes nothing in the cache', () => {
    const c = cache();
    store(c, q('shop.example').q, twoA('shop.example'));
    const a = c.get(q('shop.example').q, sec(1))!;
    a.fill(0);
    assert.equal(decode(c.get(q('shop.example').q, sec(1))!).answers!.length, 2);
  });
});

describe('DnsCache: how long things are kept', () => {
  it('NXDOMAIN is cached for the SOA minimum (RFC 2308), and clients see the SOA TTL count down from it', () => {
    const c = cache();
    const nx = replyMsg('nope.example', { rcode: 'NXDOMAIN', authorities: [soa('example', 3600, 300)] });
    store(c, q('nope.example').q, nx);
    const p = decode(c.get(q('nope.example').q, sec(100))!);
    assert.equal(p.rcode, 'NXDOMAIN');
    assert.deepEqual(ttls(p, 'authorities'), [200]);
    assert.ok(c.get(q('nope.example').q, sec(299)) !== undefined);
    assert.equal(c.get(q('nope.example').q, sec(300)), undefined);
  });

  it('negative answers are capped by negativeTtlMax; NODATA the same way', () => {
    const c = cache({ negativeTtlMax: 30 });
    store(c, q('nope.example').q, replyMsg('nope.example', { rcode: 'NXDOMAIN', authorities: [soa('example', 3600, 3600)] }));
    store(c, q('v4only.example', { type: 'AAAA' }).q, replyMsg('v4only.example', { type: 'AAAA', authorities: [soa('example', 3600, 3600)] }));
    assert.ok(c.get(q('nope.example').q, sec(29)) !== undefined);
    assert.equal(c.get(q('nope.example').q, sec(30)), undefined);
    assert.deepEqual(ttls(decode(c.get(q('v4only.example', { type: 'AAAA' }).q, sec(10))!), 'authorities'), [20]);
  });

  it('minTtl keeps short-lived answers longer (their TTLs raised to match); maxTtl cuts long ones', () => {
    const c = cache({ minTtl: 60, maxTtl: 3600 });
    store(c, q('short.example').q, twoA('short.example', 5));
    assert.deepEqual(ttls(decode(c.get(q('short.example').q, sec(10))!)), [50, 95]);
    store(c, q('long.example').q, twoA('long.example', 86_400));
    assert.deepEqual(ttls(decode(c.get(q('long.example').q, sec(0))!)), [3600, 3600]);
    assert.equal(c.get(q('long.example').q, sec(3600)), undefined);
  });

  it('SERVFAIL, REFUSED, truncated replies, NXDOMAIN without SOA and TTL 0 answers are not cached', () => {
    const c = cache();
    const name = 'x.example';
    store(c, q(name).q, replyMsg(name, { rcode: 'SERVFAIL' }));
    store(c, q(name, { type: 'MX' }).q, replyMsg(name, { rcode: 'REFUSED' }));
    store(c, q(name, { type: 'TXT' }).q, replyMsg(name, { tc: true, answers: [{ type: 'TXT', name, ttl: 60, data: 'x' }] }));
    store(c, q(name, { type: 'AAAA' }).q, replyMsg(name, { rcode: 'NXDOMAIN' }));
    store(c, q(name, { type: 'NS' }).q, replyMsg(name, { answers: [{ type: 'NS', name, ttl: 0, data: 'ns.example' }] }));
    assert.equal(c.stats().entries, 0);
  });

  it('a reply to another question (name, type) is never stored under this one', () => {
    const c = cache();
    store(c, q('bank.example').q, twoA('evil.example'));
    store(c, q('bank.example', { type: 'AAAA' }).q, twoA('bank.example'));
    assert.equal(c.stats().entries, 0);
    store(c, q('Bank.Example').q, twoA('bank.EXAMPLE'));
    assert.equal(c.stats().entries, 1, 'letter case does not matter');
  });

  it('a newer answer for the same question replaces the older one', () => {
    const c = cache();
    store(c, q('shop.example').q, twoA('shop.example', 300));
    store(c, q('shop.example').q, twoA('shop.example', 60), sec(10));
    assert.equal(c.stats().entries, 1);
    assert.deepEqual(ttls(decode(c.get(q('shop.example').q, sec(20))!)), [50, 150]);
  });
});

describe('DnsCache: bounds, counters, prefetch, flush', () => {
  it('the cache never exceeds its byte bound, and evicts the least recently used first', () => {
    const c = cache({ maxBytes: 20_000 });
    const keep = q('keep.example');
    store(c, keep.q, twoA('keep.example'));
    for (let i = 0; i < 500; i++) {
      store(c, q(`n${i}.example`).q, twoA(`n${i}.example`));
      assert.ok(c.get(keep.q, sec(1)) !== undefined, `the name in use was evicted after ${i}`);
      assert.ok(c.stats().bytes <= 20_000, `over the bound: ${c.stats().bytes}`);
    }
    const s = c.stats();
    assert.ok(s.entries > 10 && s.entries < 100, `entries ${s.entries}`);
    assert.ok(s.evictions > 400);
    assert.equal(c.get(q('n0.example').q, sec(1)), undefined, 'the oldest unused name is gone');
  });

  it('the entry bound holds too; a reply bigger than the whole byte bound is simply not cached', () => {
    const c = cache({ maxEntries: 3 });
    for (let i = 0; i < 10; i++) store(c, q(`n${i}.example`).q, twoA(`n${i}.example`));
    assert.equal(c.stats().entries, 3);
    const small = cache({ maxBytes: 300 });
    const big = replyMsg('big.example', { answers: Array.from({ length: 40 }, (_, i): Answer => ({ type: 'A', name: 'big.example', ttl: 60, data: `192.0.2.${i}` })) });
    store(small, q('big.example').q, big);
    assert.deepEqual([small.stats().entries, small.stats().bytes], [0, 0]);
  });

  it('counts hits and misses', () => {
    const c = cache();
    c.get(q('shop.example').q, sec(0));
    store(c, q('shop.example').q, twoA('shop.example'));
    c.get(q('shop.example').q, sec(1));
    c.get(q('shop.example').q, sec(2));
    assert.deepEqual([c.stats().hits, c.stats().misses], [2, 1]);
  });

  it('prefetchDue: a name asked for 3 times comes up once in the last tenth of its TTL, as a query to send upstream', () => {
    const c = cache();
    store(c, q('popular.example', { edns: 1232 }).q, twoA('popular.example', 100));
    store(c, q('rare.example').q, twoA('rare.example', 100));
    for (let i = 0; i < 3; i++) c.get(q('popular.example', { edns: 1232 }).q, sec(10 + i));
    c.get(q('rare.example').q, sec(10));
    assert.deepEqual(c.prefetchDue(sec(85)), [], 'not yet in the last 10 %');
    const due = c.prefetchDue(sec(91));
    assert.deepEqual(due.map((d) => d.name), ['popular.example']);
    assert.deepEqual(c.prefetchDue(sec(92)), [], 'each once');
    const upstreamQuery = decode(buildQuery(due[0]!, 99)!);
    assert.deepEqual(upstreamQuery.questions, [{ name: 'popular.example', type: 'A', class: 'IN' }]);
    assert.equal(optOf(upstreamQuery)?.udpPayloadSize, 1232);
    // The refreshed answer replaces the old one; the client never sees a miss.
    store(c, due[0]!, twoA('popular.example', 100), sec(92));
    assert.ok(c.get(q('popular.example', { edns: 1232 }).q, sec(150)) !== undefined);
  });

  it('flush empties the cache and keeps the counters', () => {
    const c = cache();
    store(c, q('shop.example').q, twoA('shop.example'));
    c.get(q('shop.example').q, sec(1));
    c.flush();
    assert.deepEqual(c.stats(), { entries: 0, bytes: 0, hits: 1, misses: 0, evictions: 0 });
    assert.equal(c.get(q('shop.example').q, sec(1)), undefined);
  });
});
