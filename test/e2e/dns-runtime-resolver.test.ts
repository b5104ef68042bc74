/**
 * Issue #10, the runtime: the daemon started with a `dns:` section (no firewall) answers on loopback through
 * its worker processes, with a real unbound as upstream and dig as the client. Lists block names and their
 * subdomains, an allowlist wins, answers are cached, TCP (pipelined) works, a reply too big for UDP comes
 * with TC and dig retries over TCP, garbage gets FORMERR and the workers keep answering, CNAME cloaking,
 * the answer check and rebinding protection block, a dead upstream gives SERVFAIL before the timeout, a
 * killed worker is replaced, opt-outs move a client, and the stop leaves no process behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { ApiClient } from '../../src/cli/api-client.js';
import { configFromObject, startDaemon, type RunningDaemon } from '../../src/daemon/index.js';
import { alive, ask, sleep, tempDir, UnboundUpstream, until } from './helpers/dns-runtime.js';
import type { DnsStatus } from '../../src/dns/index.js';

const PORT = 15301;
const DEAD_UPSTREAM = '127.0.0.1:15299';
const TIMEOUT_MS = 3000;

describe('dns runtime: the resolver in worker processes', { timeout: 180_000 }, () => {
  let dir: string;
  let upstream: UnboundUpstream;
  let daemon: RunningDaemon | undefined;
  let api: ApiClient;

  const q = (name: string, extra: readonly string[] = []) => ask('127.0.0.1', PORT, name, extra);
  const status = () => api.send('GET /v1/dns/status') as Promise<DnsStatus>;

  before(async () => {
    dir = await tempDir('resolver');
    upstream = await UnboundUpstream.start(dir);
    await writeFile(join(dir, 'ads.txt'), '# test list\nads.r5.test\nadnet.test\n');
    await writeFile(join(dir, 'fixes.txt'), 'ok.ads.r5.test\n');
    const config = configFromObject(
      {
        data_dir: join(dir, 'data'),
        api: { socket: join(dir, 'api.sock') },
        dns: {
          listen: [`127.0.0.1:${PORT}`, `[::1]:${PORT}`],
          upstreams: [`127.0.0.1:${upstream.port}`],
          upstream_timeout: `${TIMEOUT_MS}ms`,
          forward: [{ domain: 'down.test', upstream: DEAD_UPSTREAM }],
          workers: 2,
          blocklists: [{ name: 'ads', type: 'file', path: 'ads.txt', format: 'domains' }],
          allowlists: [{ name: 'fixes', type: 'file', path: 'fixes.txt', format: 'domains' }],
        },
      },
      'test.yaml',
      dir,
    );
    daemon = await startDaemon(config, { log: pino({ level: 'warn' }) });
    api = new ApiClient({ socket: join(dir, 'api.sock') });
  });

  after(async () => {
    await daemon?.stop();
    await upstream?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('runs without the firewall module', () => {
    assert.ok(daemon!.modules.includes('dns'));
    assert.ok(!daemon!.modules.includes('firewall'));
  });

  test('a listed name and its subdomains are blocked with an EDE naming the list; the allowlist wins', async () => {
    const plain = await q('www.r5.test');
    assert.equal(plain.status, 'NOERROR');
    assert.deepEqual(plain.answers, ['192.0.2.10']);
    for (const name of ['ads.r5.test', 'sub.ads.r5.test']) {
      const r = await q(name);
      assert.equal(r.status, 'NXDOMAIN', name);
      assert.match(r.ede, /15 \(Blocked\).*list ads/, name);
    }
    const ok = await q('ok.ads.r5.test');
    assert.equal(ok.status, 'NOERROR');
    assert.deepEqual(ok.answers, ['192.0.2.12']);
  });

  test('IPv6 listener answers too', async () => {
    const r = await ask('::1', PORT, 'www.r5.test', ['AAAA']);
    assert.deepEqual(r.answers, ['2001:db8::10']);
  });

  test('a repeated name comes from the cache (its TTL counts down; upstream always says 300)', async () => {
    // Both workers may answer: ask until both have it cached, then the TTL must be below 300 after a wait.
    for (let i = 0; i < 6; i++) await q('www.r5.test', ['AAAA']);
    await sleep(1100);
    const ttls = [];
    for (let i = 0; i < 6; i++) {
      const r = await q('www.r5.test', ['AAAA']);
      ttls.push(Number(/www\.r5\.test\.\s+(\d+)/.exec(r.text)?.[1]));
    }
    assert.ok(ttls.every((t) => t < 300), `TTLs ${ttls.join(',')}`);
    const s = await until('a cache hit in the counters', async () => {
      const st = await status();
      return st.totals.cached > 0 ? st : undefined;
    });
    assert.ok(s.totals.cached > 0);
  });

  test('TCP works, with several queries pipelined on one connection', async () => {
    const r = await q('www.r5.test', ['+tcp']);
    assert.deepEqual(r.answers, ['192.0.2.10']);
    const names = ['www.r5.test', 'ads.r5.test', 'ok.ads.r5.test'];
    const replies = await new Promise<Map<number, number>>((resolve, reject) => {
      const sock = net.connect(PORT, '127.0.0.1');
      const got = new Map<number, number>();
      let buf = Buffer.alloc(0);
      sock.on('error', reject);
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          got.set(msg.readUInt16BE(0), msg[3]! & 0xf);
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (got.size === names.length) {
          sock.end();
          resolve(got);
        }
      });
      sock.write(Buffer.concat(names.map((n, i) => framed(queryBytes(n, 100 + i)))));
    });
    assert.deepEqual([...replies].sort(), [
      [100, 0],
      [101, 3],
      [102, 0],
    ]);
  });

  test('a reply too big for UDP comes with TC set, and dig gets it over TCP', async () => {
    const udpOnly = await q('big.r5.test', ['TXT', '+noedns', '+ignore']);
    assert.match(udpOnly.text, /flags: qr[^;]* tc/);
    assert.equal(udpOnly.answers.length, 0);
    const retried = await q('big.r5.test', ['TXT', '+noedns']);
    assert.match(retried.text, /Truncated, retrying in TCP mode/);
    assert.equal(retried.answers.length, 7);
  });

  test('garbage gets FORMERR or nothing, and the workers keep answering', async () => {
    const before = (await status()).workers.map((w) => w.pid);
    const sock = dgram.createSocket('udp4');
    const replies: Buffer[] = [];
    sock.on('message', (m) => replies.push(m));
    const garbage = [
      Buffer.from([0x12, 0x34]),
      Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f]),
      Buffer.concat([queryBytes('www.r5.test', 7).subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]),
      ...Array.from({ length: 200 }, (_, i) => {
        const b = queryBytes('fuzz.r5.test', i);
        b[12 + (i % (b.length - 12))] = (i * 37) & 0xff;
        b[2]! &= 0x7f;
        return b;
      }),
    ];
    for (const g of garbage) sock.send(g, PORT, '127.0.0.1');
    await sleep(1500);
    sock.close();
    // The one with a pointer loop in its question gets FORMERR with its ID.
    assert.ok(replies.some((r) => r.readUInt16BE(0) === 7 && (r[3]! & 0xf) === 1), 'FORMERR for a compressed question');
    const r = await q('www.r5.test');
    assert.deepEqual(r.answers, ['192.0.2.10']);
    assert.deepEqual((await status()).workers.map((w) => w.pid), before, 'no worker died');
  });

  test('a TCP client that stops mid-message is disconnected after the idle timeout, and TCP keeps working', async () => {
    const start = Date.now();
    const closed = await new Promise<boolean>((resolve) => {
      const sock = net.connect(PORT, '127.0.0.1', () => sock.write(Buffer.from([0, 100, 1, 2, 3])));
      sock.on('error', () => undefined);
      sock.on('close', () => resolve(true));
      setTimeout(() => {
        sock.destroy();
        resolve(false);
      }, 30_000);
    });
    assert.ok(closed, 'the server closed the stalled connection');
    assert.ok(Date.now() - start >= 9_000, 'not before the idle timeout');
    assert.deepEqual((await q('www.r5.test', ['+tcp'])).answers, ['192.0.2.10']);
  });

  test('a CNAME to a listed name is blocked (CNAME cloaking)', async () => {
    const r = await q('cloak.r5.test');
    assert.equal(r.status, 'NXDOMAIN');
    assert.match(r.ede, /CNAME tracker\.adnet\.test blocked by list ads/);
  });

  test('an answer pointing at an outbound decision is blocked, naming the decision', async () => {
    assert.deepEqual((await q('evil.r5.test')).answers, ['203.0.113.7']);
    const d = daemon!.store.service.add({ value: '203.0.113.0/24', origin: 'manual', scenario: 'test/bad-range', direction: 'outbound' });
    await api.send('POST /v1/dns/flush');
    const r = await until('the IP index to reach the workers', async () => {
      const x = await q('evil.r5.test');
      return x.status === 'NXDOMAIN' ? x : undefined;
    });
    assert.match(r.ede, new RegExp(`17 \\(Filtered\\).*203\\.0\\.113\\.0/24 by manual/test/bad-range \\(decision #${d.id}\\)`));
  });

  test('a public name answering a private address is blocked (rebinding protection)', async () => {
    const r = await q('internal.r5.test');
    assert.equal(r.status, 'NXDOMAIN');
    assert.match(r.ede, /rebinding/);
  });

  test('use-application-dns.net is NXDOMAIN (browsers keep this resolver)', async () => {
    assert.equal((await q('use-application-dns.net')).status, 'NXDOMAIN');
  });

  test('an upstream that is down gives SERVFAIL before the timeout', async () => {
    const start = Date.now();
    const r = await q('x.down.test');
    const ms = Date.now() - start;
    assert.equal(r.status, 'SERVFAIL');
    assert.ok(ms < TIMEOUT_MS, `answered in ${ms} ms`);
  });

  test('dns query explains what would happen and why', async () => {
    const r = await api.send('GET /v1/dns/query', { query: { name: 'sub.ads.r5.test', client: '127.0.0.1' } });
    assert.equal(r.verdict, 'blocked');
    assert.equal(r.group, 'default');
    assert.match(r.why, /list ads/);
    const ok = await api.send('GET /v1/dns/query', { query: { name: 'ok.ads.r5.test' } });
    assert.equal(ok.verdict, 'allowed');
    assert.match(ok.why, /fixes/);
  });

  test('an opted-out client is not filtered by ad lists; deleting the opt-out filters it again', async () => {
    assert.equal((await q('ads.r5.test')).status, 'NXDOMAIN');
    const added = await api.send('POST /v1/dns/optout', { body: { client: '127.0.0.1' } });
    assert.deepEqual(added.optout, ['127.0.0.1']);
    await until('the opt-out to reach the workers', async () => ((await q('ads.r5.test')).status === 'NOERROR' ? true : undefined));
    const why = await api.send('GET /v1/dns/query', { query: { name: 'ads.r5.test', client: '127.0.0.1' } });
    assert.equal(why.group, 'optout');
    // Another client is still filtered.
    const other = await api.send('GET /v1/dns/query', { query: { name: 'ads.r5.test', client: '127.0.0.2' } });
    assert.equal(other.verdict, 'blocked');
    await api.send('DELETE /v1/dns/optout/:client', { params: { client: '127.0.0.1' } });
    await until('the opt-out to be gone', async () => ((await q('ads.r5.test')).status === 'NXDOMAIN' ? true : undefined));
  });

  test('a killed worker is replaced while the other keeps answering', async () => {
    const s = await status();
    const victim = s.workers[0]!.pid;
    process.kill(victim, 'SIGKILL');
    // Answers never stop: the other worker reads the same socket. (A query the killed worker had already
    // read is lost with it; the client's retry gets the other worker, as a stub resolver's would.)
    const retrying = ['+tries=3', '+time=2'];
    for (let i = 0; i < 5; i++) assert.deepEqual((await q('www.r5.test', retrying)).answers, ['192.0.2.10']);
    const after = await until('a new worker', async () => {
      const x = await status();
      return x.workers[0]!.pid !== victim && x.workers[0]!.pid !== 0 ? x : undefined;
    });
    assert.equal(after.workers[0]!.restarts, 1);
    assert.ok(!alive(victim));
    for (let i = 0; i < 5; i++) assert.equal((await q('ads.r5.test', retrying)).status, 'NXDOMAIN', 'the new worker got the lists');
  });

  test('the stop ends every worker and frees the port', async () => {
    const pids = (await status()).workers.map((w) => w.pid).filter((p) => p > 0);
    assert.equal(pids.length, 2);
    await daemon!.stop();
    daemon = undefined;
    for (const pid of pids) assert.ok(!alive(pid), `worker ${pid} still running`);
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(PORT, '127.0.0.1', () => resolve());
    });
    s.close();
  });
});

function queryBytes(name: string, id: number): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2);
  h.writeUInt16BE(1, 4);
  return Buffer.concat([h, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

function framed(m: Buffer): Buffer {
  const h = Buffer.alloc(2);
  h.writeUInt16BE(m.length);
  return Buffer.concat([h, m]);
}
