/**
 * The DNS answer-time histogram's worker side (src/dns/latency.ts): bucket placement at the bounds, the
 * merge the daemon does of several workers' (and restarted workers') counts, and the cumulative form
 * Prometheus shows. Then the resolver chain itself: a blocked, a local and a cached answer each land under
 * their own result, and `dns query`'s made-up queries land nowhere.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { addLatency, DNS_LATENCY_BOUNDS, DNS_RESULTS, emptyLatency, LATENCY_STRIDE, LatencyRecorder, latencyHistograms, R_BLOCKED, R_CACHED, R_FORWARDED, R_SERVFAIL } from '../../src/dns/latency.js';
import { buildQuery, DomainIndex, parseDomainList } from '../../src/dns/index.js';
import type { WorkerSettings } from '../../src/dns/ipc.js';
import { Resolver } from '../../src/dns/worker/chain.js';
import { answerA } from '../../bench/lib/dns-answer.js';

const byResult = (r: LatencyRecorder) => Object.fromEntries(latencyHistograms(r.snapshot()).map((h) => [h.result, h.count]));

describe('DNS latency counts', () => {
  test('a time equal to a bound is in that bound\'s bucket; above the last bound is +Inf only', () => {
    const r = new LatencyRecorder();
    r.observe(R_BLOCKED, 0.5); // exactly 0.0005 s
    r.observe(R_BLOCKED, 0.5001);
    r.observe(R_BLOCKED, 0.01);
    r.observe(R_FORWARDED, 2000); // exactly 2 s
    r.observe(R_FORWARDED, 2500);
    const [blocked, , forwarded] = latencyHistograms(r.snapshot());
    assert.equal(blocked!.result, 'blocked');
    assert.deepEqual(blocked!.cumulative.slice(0, 3), [2, 3, 3], 'le=0.0005 holds 0.01 ms and 0.5 ms; le=0.001 adds 0.5001 ms');
    assert.equal(blocked!.count, 3);
    assert.ok(Math.abs(blocked!.sumSeconds - 1.0101 / 1000) < 1e-12, `sum ${blocked!.sumSeconds}`);
    assert.equal(forwarded!.cumulative.at(-1), 1, 'le=2 holds the 2 s answer, not the 2.5 s one');
    assert.equal(forwarded!.count, 2, '+Inf counts both');
    assert.equal(forwarded!.sumSeconds, 4.5);
  });

  test('cumulative counts never go down and end at the count, for every result', () => {
    const r = new LatencyRecorder();
    let seed = 7;
    for (let i = 0; i < 5000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      r.observe(i % DNS_RESULTS.length, (seed / 2 ** 31) * 3000);
    }
    for (const h of latencyHistograms(r.snapshot())) {
      assert.equal(h.cumulative.length, DNS_LATENCY_BOUNDS.length);
      for (let i = 1; i < h.cumulative.length; i++) assert.ok(h.cumulative[i]! >= h.cumulative[i - 1]!, `${h.result} at ${i}`);
      assert.ok(h.count >= h.cumulative.at(-1)!);
      assert.equal(h.count, 1000);
    }
  });

  test('the daemon adds workers\' counts, and a restarted worker\'s earlier counts stay', () => {
    const a = new LatencyRecorder();
    const b = new LatencyRecorder();
    a.observe(R_CACHED, 0.1);
    a.observe(R_SERVFAIL, 1500);
    b.observe(R_CACHED, 0.2);
    const base = addLatency(emptyLatency(), a.snapshot()); // worker a's first process, then it restarted
    const a2 = new LatencyRecorder();
    a2.observe(R_CACHED, 30);
    const total = addLatency(addLatency(base, a2.snapshot()), b.snapshot());
    const h = Object.fromEntries(latencyHistograms(total).map((x) => [x.result, x]));
    assert.equal(h.cached!.count, 3);
    assert.equal(h.cached!.cumulative[0], 2, 'two under 0.5 ms');
    assert.ok(Math.abs(h.cached!.sumSeconds - 0.0303) < 1e-12);
    assert.equal(h.servfail!.count, 1);
    assert.equal(h.forwarded!.count, 0);
  });

  test('a report of another shape is ignored rather than mixing buckets', () => {
    const a = new LatencyRecorder();
    a.observe(R_BLOCKED, 1);
    const good = a.snapshot();
    const odd = { buckets: [1, 2, 3], sumsMs: [4] };
    assert.deepEqual(addLatency(good, odd), good);
    assert.equal(good.buckets.length, DNS_RESULTS.length * LATENCY_STRIDE);
  });
});

describe('the resolver chain times each answer under its result', () => {
  const settings = (upstreamPort: number): WorkerSettings => ({
    upstreams: [`127.0.0.1:${upstreamPort}`], strategy: 'strict', upstreamTimeoutMs: 2000, forward: [],
    blockAnswer: 'nxdomain', blockTtlSec: 60, answerCheck: 'enforce', rebinding: true, rebindingAllow: [],
    cache: { size: 100, maxBytes: 1 << 20, minTtlSec: 0, maxTtlSec: 86400, negativeMaxTtlSec: 3600, prefetch: false },
    queryLog: { file: '', mode: 'off' }, listNames: ['ads'], privateNets: [], localDomain: 'lan', tcpIdleMs: 10_000, tcpMaxConnections: 10,
  });
  const q = (name: string) => buildQuery({ name, qtype: 1, qclass: 1, cd: false, ednsUdpSize: 1232, dnssecOk: false }, 7)!;

  test('blocked, local, forwarded then cached, servfail; `dns query` is not counted', async () => {
    // A real upstream on loopback: answers A 192.0.2.1 for every name except "down.test" (no answer: timeout).
    const up = dgram.createSocket('udp4');
    up.on('message', (m, from) => {
      if (m.includes(Buffer.from('\x04down\x04test'))) return;
      const out = answerA(m, 60);
      up.send(out, from.port, from.address);
    });
    await new Promise<void>((ok) => up.bind(0, '127.0.0.1', ok));
    const r = new Resolver({ ...settings(up.address().port), upstreamTimeoutMs: 300 }, undefined);
    try {
      r.setDomains(DomainIndex.buildSync([{ id: 0, rules: parseDomainList('ads.test\n', 'domains').rules }]));
      r.setLocal([{ name: 'laptop.lan', ips: ['192.168.1.20'] }]);
      await r.handle(q('x.ads.test'), '10.0.0.1', false);
      await r.handle(q('laptop.lan'), '10.0.0.1', false);
      await r.handle(q('shop.test'), '10.0.0.1', false);
      await r.handle(q('shop.test'), '10.0.0.1', false);
      await r.handle(q('down.test'), '10.0.0.1', false);
      await r.explain('shop.test', 'A', '10.0.0.1');
      await r.explain('y.ads.test', 'A', '10.0.0.1');
      assert.deepEqual(byResult(r.latency), { blocked: 1, cached: 1, forwarded: 1, local: 1, servfail: 1 });
      assert.equal(r.counters.queries, 5, 'every client query is in exactly one result');
      const servfail = latencyHistograms(r.latency.snapshot()).find((h) => h.result === 'servfail')!;
      assert.ok(servfail.sumSeconds >= 0.25, `the upstream timeout is in the time: ${servfail.sumSeconds} s`);
    } finally {
      r.close();
      up.close();
    }
  });
});
