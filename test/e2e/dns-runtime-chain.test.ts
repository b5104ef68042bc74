/**
 * The worker's resolver chain run in this process against a real unbound: the settings the other tests
 * leave at their defaults — answer_check monitor (answer passes, the log notes the decision), block_answer
 * null_ip, rebinding_allow, groups by address — and what the query log records for each answer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import dnsPacket from 'dns-packet';
import { buildQuery, DomainIndex, IpIndex, parseDomainList, type QueryRecord } from '../../src/dns/index.js';
import type { WorkerSettings } from '../../src/dns/ipc.js';
import { Resolver } from '../../src/dns/worker/chain.js';
import { tempDir, UnboundUpstream, workerSettings } from './helpers/dns-runtime.js';

function settings(o: Partial<WorkerSettings>, port: number): WorkerSettings {
  return workerSettings({ upstreams: [`127.0.0.1:${port}`], ...o });
}

/** What the tests read of a decoded reply (dns-packet's typings omit `rcode` and the records' `data`/`ttl`). */
interface Decoded {
  readonly rcode?: string;
  readonly answers?: readonly { readonly type: string; readonly data: unknown; readonly ttl?: number }[];
}

async function resolve(r: Resolver, name: string, client = '10.0.0.1', qtype = 1) {
  const msg = buildQuery({ name, qtype, qclass: 1, cd: false, ednsUdpSize: 1232, dnssecOk: false }, 4242)!;
  const reply = await r.handle(msg, client, false);
  assert.ok(reply);
  return dnsPacket.decode(reply) as unknown as Decoded;
}

describe('dns runtime: the resolver chain', { timeout: 60_000 }, () => {
  let dir: string;
  let upstream: UnboundUpstream;
  const log: QueryRecord[] = [];
  const sink = { push: (r: QueryRecord) => void log.push(r) };

  before(async () => {
    dir = await tempDir('chain');
    upstream = await UnboundUpstream.start(dir, 15203);
  });
  after(async () => {
    await upstream?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const withLists = (r: Resolver) => {
    r.setDomains(DomainIndex.buildSync([{ id: 0, rules: parseDomainList('ads.r5.test\n', 'domains').rules }]));
    r.setIps(IpIndex.build([{ target: '203.0.113.0/24', origin: 'feed:bad', decisionId: 9 }]).toTransfer());
    return r;
  };

  test('answer_check monitor: the answer passes, the log names the decision', async () => {
    const r = withLists(new Resolver(settings({ answerCheck: 'monitor' }, upstream.port), sink));
    const a = await resolve(r, 'evil.r5.test');
    assert.equal(a.rcode, 'NOERROR');
    assert.deepEqual(a.answers?.map((x) => x.data), ['203.0.113.7']);
    const rec = log.at(-1)!;
    assert.match(rec.monitored ?? '', /203\.0\.113\.7 is listed: 203\.0\.113\.0\/24 by feed:bad \(decision #9\)/);
    assert.equal(rec.blocked, undefined);
    assert.equal(r.counters.monitored, 1);
    r.close();
  });

  test('answer_check off lets it through silently; enforce blocks and logs the decision', async () => {
    const off = withLists(new Resolver(settings({ answerCheck: 'off' }, upstream.port), sink));
    assert.equal((await resolve(off, 'evil.r5.test')).rcode, 'NOERROR');
    assert.equal(log.at(-1)!.monitored, undefined);
    off.close();
    const on = withLists(new Resolver(settings({}, upstream.port), sink));
    assert.equal((await resolve(on, 'evil.r5.test')).rcode, 'NXDOMAIN');
    assert.deepEqual(log.at(-1)!.blocked, { by: 'decision', what: '203.0.113.0/24' });
    on.close();
  });

  test('block_answer null_ip answers 0.0.0.0 / :: with the block TTL, and logs the list', async () => {
    const r = withLists(new Resolver(settings({ blockAnswer: 'null_ip', blockTtlSec: 42 }, upstream.port), sink));
    const a = await resolve(r, 'sub.ads.r5.test');
    assert.equal(a.rcode, 'NOERROR');
    assert.deepEqual(a.answers?.map((x) => [x.data, x.ttl]), [['0.0.0.0', 42]]);
    const aaaa = await resolve(r, 'ads.r5.test', '10.0.0.1', 28);
    assert.deepEqual(aaaa.answers?.map((x) => x.data), ['::']);
    assert.deepEqual(log.at(-1)!.blocked, { by: 'list', what: 'ads:ads.r5.test' });
    r.close();
  });

  test('rebinding_allow lets a named zone answer private addresses', async () => {
    const strict = new Resolver(settings({}, upstream.port), sink);
    assert.equal((await resolve(strict, 'internal.r5.test')).rcode, 'NXDOMAIN');
    assert.deepEqual(log.at(-1)!.blocked?.by, 'rebinding');
    strict.close();
    const allowed = new Resolver(settings({ rebindingAllow: ['r5.test'] }, upstream.port), sink);
    assert.deepEqual((await resolve(allowed, 'internal.r5.test')).answers?.map((x) => x.data), ['192.168.1.5']);
    allowed.close();
  });

  test('groups: a client in a group without the list is not blocked; a range matches too', async () => {
    const r = withLists(new Resolver(settings({}, upstream.port), sink));
    r.setGroups({ defaultGroup: 'default', defaultMask: 1, clients: [['10.0.0.7', 'free', 0]], ranges: [['10.9.0.0/16', 'lab', 0]] });
    assert.equal((await resolve(r, 'ads.r5.test', '10.0.0.1')).rcode, 'NXDOMAIN');
    assert.equal((await resolve(r, 'ads.r5.test', '10.0.0.7')).rcode, 'NOERROR');
    assert.equal((await resolve(r, 'ads.r5.test', '10.9.3.4')).rcode, 'NOERROR');
    const counted = r.counters.queries;
    const why = await r.explain('ads.r5.test', 'A', '10.9.3.4');
    assert.equal(why.group, 'lab');
    assert.equal(r.counters.queries, counted, 'dns query is not counted as a client query');
    r.close();
  });

  test('a cache hit gets every check a fresh answer gets: ResolvedNames per client, IP index and lists as they are now, rebinding', async () => {
    const r = new Resolver(settings({}, upstream.port), sink);
    const now = () => Date.now();
    assert.deepEqual((await resolve(r, 'evil.r5.test', '10.0.0.1')).answers?.map((x) => x.data), ['203.0.113.7']);
    assert.equal(r.resolved.lookup('10.0.0.1', '203.0.113.7', now()), 'evil.r5.test');
    // Served from the cache to a second client, twice: that client's pair is noted too.
    for (let i = 0; i < 2; i++) assert.equal((await resolve(r, 'evil.r5.test', '10.0.0.2')).rcode, 'NOERROR');
    assert.equal(log.at(-1)!.cached, true);
    assert.equal(r.resolved.lookup('10.0.0.2', '203.0.113.7', now()), 'evil.r5.test');
    assert.equal(r.resolved.lookup('10.0.0.3', '203.0.113.7', now()), undefined);
    // The IP index changes while the answer is cached: the next hit is blocked.
    r.setIps(IpIndex.build([{ target: '203.0.113.0/24', origin: 'feed:bad', decisionId: 9 }]).toTransfer());
    assert.equal((await resolve(r, 'evil.r5.test', '10.0.0.2')).rcode, 'NXDOMAIN');
    assert.deepEqual(log.at(-1)!.blocked, { by: 'decision', what: '203.0.113.0/24' });
    assert.equal(log.at(-1)!.cached, true);
    // Rebinding is answered the same from the cache: allowed zone stays allowed, hit after hit.
    const allowed = new Resolver(settings({ rebindingAllow: ['r5.test'] }, upstream.port), sink);
    for (let i = 0; i < 2; i++) assert.deepEqual((await resolve(allowed, 'internal.r5.test')).answers?.map((x) => x.data), ['192.168.1.5']);
    assert.equal(log.at(-1)!.cached, true);
    const strict = new Resolver(settings({}, upstream.port), sink);
    for (let i = 0; i < 2; i++) assert.equal((await resolve(strict, 'internal.r5.test')).rcode, 'NXDOMAIN');
    assert.equal(strict.counters.blocked, 2);
    r.close();
    allowed.close();
    strict.close();
  });

  test('the log keeps what a user asks about: upstream, cache hits, latency', async () => {
    const r = new Resolver(settings({}, upstream.port), sink);
    await resolve(r, 'www.r5.test');
    const first = log.at(-1)!;
    assert.equal(first.upstream, `127.0.0.1:${upstream.port}`);
    assert.equal(first.cached, false);
    assert.equal(first.answer, '192.0.2.10');
    await resolve(r, 'www.r5.test');
    const second = log.at(-1)!;
    assert.equal(second.cached, true);
    assert.ok(second.latencyUs > 0);
    r.close();
  });
});
