/**
 * Per-query CPU of the DNS wire layer and cache (the resolver's hot path), median ns/op over several rounds,
 * next to dns-packet's decode of the same query. No root, no network: pure computation in this process.
 *
 *   node --import tsx bench/dns-wire.ts [--rounds 7] [--ms 300]
 *
 * Budget: dnsdist answers cached/blocked queries at ~60-74k qps on 2 cores (bench/README, DNS anchors), i.e.
 * ~14-16 µs of CPU per query for everything: syscalls, parse, policy, cache, reply.
 */
import dnsPacket from 'dns-packet';
import { parseArgs } from 'node:util';
import {
  blockedReply,
  DnsCache,
  errorReply,
  fitUdp,
  inspectAnswer,
  parseQuery,
  withId,
  type AnswerFacts,
  type Query,
} from '../src/dns/index.js';
import { median, textTable } from './lib/stats.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, ms: { type: 'string', default: '300' } } });
const ROUNDS = Number(values.rounds);
const ROUND_MS = Number(values.ms);

// dig/dnsperf-style query: A for a typical name, EDNS OPT (1232), RD.
const queryBytes = dnsPacket.encode({
  type: 'query',
  id: 4242,
  flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ type: 'A', name: 'www.example.com' }],
  additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as dnsPacket.Answer],
});
// A typical upstream answer: two A records, owners compressed to the question (as real servers write them).
const reply = Buffer.from(
  '10928180000100020000000103777777076578616d706c6503636f6d0000010001' +
    'c00c000100010000012c0004c6336410' +
    'c00c000100010000012c0004c6336411' +
    '00002904d0000000000000',
  'hex',
);

const q = parseQuery(queryBytes) as Query;
const facts = inspectAnswer(reply) as AnswerFacts;
if ('kind' in q || 'kind' in facts) throw new Error('bench fixtures do not parse');
const cache = new DnsCache({ maxEntries: 10_000, maxBytes: 4 << 20, minTtl: 0, maxTtl: 86_400, negativeTtlMax: 3600 });
// A realistically full cache, so the Map is not a one-entry toy.
for (let i = 0; i < 9_000; i++) cache.set({ ...q, name: `n${i}.example.com` }, reply, facts, Date.now());
cache.set(q, reply, facts, Date.now());
const missQ: Query = { ...q, name: 'absent.example.com' };
const ede = { code: 15, text: 'blocked by list ads' };
const now = Date.now() + 30_000;
let sink = 0;

const cases: [string, () => void][] = [
  ['parseQuery (A www.example.com, EDNS)', () => {
    const r = parseQuery(queryBytes);
    sink += 'kind' in r ? 1 : r.qtype;
  }],
  ['dns-packet decode, same query', () => {
    sink += dnsPacket.decode(queryBytes).id!;
  }],
  ['DnsCache.get hit (copy + ID + TTL patch + OPT)', () => {
    sink += cache.get(q, now, queryBytes)!.length;
  }],
  ['DnsCache.get miss', () => {
    sink += cache.get(missQ, now) === undefined ? 1 : 0;
  }],
  ['parseQuery + DnsCache.get hit (cached path)', () => {
    const r = parseQuery(queryBytes) as Query;
    sink += cache.get(r, now, queryBytes)!.length;
  }],
  ['blockedReply nxdomain + EDE', () => {
    sink += blockedReply(q, queryBytes, 'nxdomain', ede, 60).length;
  }],
  ['blockedReply null_ip + EDE', () => {
    sink += blockedReply(q, queryBytes, 'null_ip', ede, 60).length;
  }],
  ['errorReply SERVFAIL', () => {
    sink += errorReply(q, queryBytes, 'SERVFAIL').length;
  }],
  ['inspectAnswer (2 A records)', () => {
    const f = inspectAnswer(reply);
    sink += 'kind' in f ? 1 : f.addresses.length;
  }],
  ['dns-packet decode, same reply', () => {
    sink += dnsPacket.decode(reply).answers!.length;
  }],
  ['withId (upstream reply → client)', () => {
    sink += withId(reply, 7).length;
  }],
  ['fitUdp (fits: no copy)', () => {
    sink += fitUdp(reply, 1232).length;
  }],
];

function measure(fn: () => void): number {
  // Calibrate a batch to ~10 ms, then run batches for ROUND_MS; ns per op of the whole round.
  let n = 1000;
  for (;;) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    const ns = Number(process.hrtime.bigint() - t);
    if (ns > 10e6) break;
    n *= 2;
  }
  let ops = 0;
  const start = process.hrtime.bigint();
  let el = 0;
  while (el < ROUND_MS * 1e6) {
    for (let i = 0; i < n; i++) fn();
    ops += n;
    el = Number(process.hrtime.bigint() - start);
  }
  return el / ops;
}

const results = cases.map(([name, fn]) => {
  measure(fn); // warm-up: JIT
  const rounds = Array.from({ length: ROUNDS }, () => measure(fn));
  return [name, median(rounds), Math.min(...rounds), Math.max(...rounds)] as const;
});

console.log(`node ${process.version}, ${ROUNDS} rounds of ${ROUND_MS} ms each, ns/op (median, min–max over rounds)\n`);
console.log(
  textTable(
    ['operation', 'median ns/op', 'min–max'],
    results.map(([name, med, min, max]) => [name, med.toFixed(0), `${min.toFixed(0)}–${max.toFixed(0)}`]),
  ),
);
if (sink === 42) console.log('');
