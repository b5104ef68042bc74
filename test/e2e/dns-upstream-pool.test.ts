/**
 * UpstreamPool and the forwarding router against real unbound processes on loopback: a down upstream loses
 * to a live one (parallel_best) or is skipped (strict), everything down fails within the budget, a restarted
 * upstream is used again, SERVFAIL/REFUSED lose the race, and conditional forwarding picks the longest domain.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { AllUpstreamsFailed, UpstreamPool, UpstreamRouter } from '../../src/dns/index.js';
import { firstA, makeTempDir, rcodeName, nextPorts, query, removeDir, txts, Unbound, ZONE } from './helpers/dns-upstream-servers.js';

let dir: string;
let one: Unbound;
let two: Unbound;
let base: number;
const pools: { close(): void }[] = [];
const sockets: dgram.Socket[] = [];

const ONE = (): string => `127.0.0.1:${base}`;
const TWO = (): string => `127.0.0.1:${base + 1}`;
/** Nothing listens there: the kernel answers ICMP port unreachable (a server that is down). */
const DOWN = (): string => `127.0.0.1:${base + 2}`;
/** A socket that reads queries and never answers (a server that is hung or a path that drops packets). */
const BLACKHOLE = (): string => `127.0.0.1:${base + 3}`;

function pool(specs: string[], o: Partial<ConstructorParameters<typeof UpstreamPool>[1]> = {}): UpstreamPool {
  const p = new UpstreamPool(specs, { strategy: 'parallel_best', timeoutMs: 1500, benchMs: 300, ...o });
  pools.push(p);
  return p;
}

async function who(p: UpstreamPool): Promise<{ tag: string; upstream: string }> {
  const r = await p.resolve(query(`who.${ZONE}`, 'TXT'), `who.${ZONE}`);
  return { tag: txts(r.reply)[0]!, upstream: r.upstream };
}

/** Waits until the pool's bench of upstream `i` has expired (it backs off, so the wait is read from health()). */
async function benchOver(p: UpstreamPool, i: number): Promise<void> {
  const until = p.health()[i]!.benchedUntil ?? 0;
  await new Promise((res) => setTimeout(res, Math.max(0, until - Date.now()) + 20));
}

/** A UDP server answering every query with the given RCODE (a real upstream in trouble). */
async function rcodeServer(port: number, rcode: number): Promise<void> {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, rinfo) => {
    const qEnd = 12 + m.subarray(12).indexOf(0) + 5;
    const r = Buffer.from(m.subarray(0, qEnd));
    r[2] = 0x81;
    r[3] = 0x80 | rcode;
    r.fill(0, 6, 12);
    s.send(r, rinfo.port, rinfo.address);
  });
  await new Promise<void>((res) => s.bind(port, '127.0.0.1', () => res()));
  sockets.push(s);
}

before(async () => {
  dir = makeTempDir('pool');
  base = nextPorts();
  one = new Unbound(dir, { dns: base }, 'one');
  two = new Unbound(dir, { dns: base + 1 }, 'two');
  await Promise.all([one.start(), two.start()]);
  const hole = dgram.createSocket('udp4');
  await new Promise<void>((r) => hole.bind(base + 3, '127.0.0.1', () => r()));
  sockets.push(hole);
  await rcodeServer(base + 4, 2); // SERVFAIL
  await rcodeServer(base + 5, 5); // REFUSED
});

after(async () => {
  for (const p of pools) p.close();
  for (const s of sockets) s.close();
  await Promise.all([one?.stop(), two?.stop()]);
  if (dir) removeDir(dir);
});

describe('UpstreamPool against unbound', () => {
  it('parallel_best: both live upstreams get used, answers are right', async () => {
    const p = pool([ONE(), TWO()]);
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add((await who(p)).tag);
    assert.deepEqual([...seen].sort(), ['one', 'two']);
    const h = p.health();
    assert.ok(h.every((x) => x.ok && x.errors === 0 && x.queries === 40 && x.latencyMs > 0), JSON.stringify(h));
  });

  it('parallel_best: a down upstream loses to the live one and is benched', async () => {
    const p = pool([DOWN(), ONE()]);
    for (let i = 0; i < 5; i++) assert.deepEqual(await who(p), { tag: 'one', upstream: ONE() });
    const down = p.health().find((h) => h.name === DOWN())!;
    assert.equal(down.ok, false);
    assert.ok(down.errors >= 1 && down.benchedUntil! > Date.now(), JSON.stringify(down));
  });

  it('parallel_best: a hung upstream does not delay the answer beyond the live one', async () => {
    const p = pool([BLACKHOLE(), ONE()], { timeoutMs: 3000 });
    const r = await p.resolve(query(`a.${ZONE}`, 'A'), `a.${ZONE}`);
    assert.equal(firstA(r.reply), '192.0.2.10');
    assert.ok(r.ms < 1500, `answered in ${r.ms} ms, the hung upstream's attempt lasts 1500 ms`);
  });

  it('strict: in order, the next one when the first is down; the first again once it is back', async () => {
    const p = pool([TWO(), ONE()], { strategy: 'strict' });
    assert.deepEqual(await who(p), { tag: 'two', upstream: TWO() });
    await two.stop();
    assert.deepEqual(await who(p), { tag: 'one', upstream: ONE() });
    assert.equal(p.health()[0]!.ok, false);
    // while benched, the first is skipped without waiting for it
    const r = await p.resolve(query(`a.${ZONE}`, 'A'), `a.${ZONE}`);
    assert.equal(r.upstream, ONE());
    await two.start();
    await benchOver(p, 0);
    assert.deepEqual(await who(p), { tag: 'two', upstream: TWO() }, JSON.stringify(p.health()));
    assert.equal(p.health()[0]!.ok, true);
  });

  it('parallel_best: an upstream that comes back is used again after its bench', async () => {
    const p = pool([ONE(), TWO()]);
    await two.stop();
    for (let i = 0; i < 10; i++) assert.equal((await who(p)).tag, 'one');
    assert.equal(p.health()[1]!.ok, false);
    await two.start();
    await benchOver(p, 1);
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add((await who(p)).tag);
    assert.ok(seen.has('two'), 'the restarted upstream answers again');
    assert.equal(p.health()[1]!.ok, true);
  });

  it('all down: AllUpstreamsFailed within the budget, and still tried next time (all benched)', async () => {
    for (const strategy of ['parallel_best', 'strict'] as const) {
      const p = pool([DOWN(), BLACKHOLE()], { strategy, timeoutMs: 800, benchMs: 10_000 });
      const t0 = Date.now();
      await assert.rejects(p.resolve(query(`a.${ZONE}`, 'A'), `a.${ZONE}`), (e: unknown) => {
        assert.ok(e instanceof AllUpstreamsFailed, String(e));
        assert.match(e.message, /no upstream answered for a\.u3\.test/);
        assert.ok(e.attempts.length >= 2, e.message);
        return true;
      });
      const took = Date.now() - t0;
      assert.ok(took < 800 * 2, `${strategy}: gave up after ${took} ms with a budget of 800 ms`);
      assert.ok(p.health().every((h) => !h.ok), JSON.stringify(p.health()));
      await assert.rejects(p.resolve(query(`a.${ZONE}`, 'A'), `a.${ZONE}`), AllUpstreamsFailed);
      assert.ok(p.health().every((h) => h.queries === 2), JSON.stringify(p.health()));
    }
  });

  it('SERVFAIL and REFUSED lose the race; when nothing better answers, SERVFAIL is returned', async () => {
    const servfail = `127.0.0.1:${base + 4}`;
    const refused = `127.0.0.1:${base + 5}`;
    for (const strategy of ['parallel_best', 'strict'] as const) {
      const p = pool([servfail, refused, ONE()], { strategy });
      for (let i = 0; i < 10; i++) assert.equal((await who(p)).tag, 'one', strategy);
      assert.ok(p.health().every((h) => h.ok), 'an upstream answering SERVFAIL is alive, not benched');
      const bad = pool([refused, servfail], { strategy });
      const r = await bad.resolve(query(`a.${ZONE}`, 'A'), `a.${ZONE}`);
      assert.equal(rcodeName(r.reply), 'SERVFAIL');
      assert.equal(r.upstream, servfail);
    }
  });
});

describe('conditional forwarding', () => {
  it('the longest matching domain picks the pool; other names go to the default', async () => {
    const router = UpstreamRouter.fromConfig({
      upstreams: [ONE()],
      strategy: 'parallel_best',
      timeoutMs: 1500,
      forward: [
        { domain: ZONE, upstream: TWO() },
        { domain: `deep.sub.${ZONE}`, upstream: [ONE()] },
      ],
    });
    pools.push(router);
    const ask = async (name: string): Promise<string> => (await router.resolve(query(name, 'TXT'), name)).upstream;
    assert.equal(await ask(`who.${ZONE}`), TWO());
    assert.equal(await ask(`x.deep.sub.${ZONE}`), ONE());
    assert.equal(await ask(`deep.sub.${ZONE}`), ONE());
    assert.equal(await ask(`sub.${ZONE}`), TWO());
    assert.equal(await ask('example.org'), ONE());
    assert.equal(await ask(`xu3.test`), ONE());
    assert.equal(router.forwardedDomain(`a.${ZONE}`), ZONE);
    assert.equal(router.health().length, 3);
  });
});
