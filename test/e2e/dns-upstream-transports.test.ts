/**
 * The upstream transports against a real unbound (UDP, TCP, DoT, DoH on loopback, throw-away CA): answers, TC →
 * TCP, pipelining, connection reuse, certificate checks, and replies that do not match the query being dropped.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createUpstream } from '../../src/dns/upstream/create.js';
import type { Upstream } from '../../src/dns/upstream/types.js';
import { BIG_TXT_COUNT, firstA, rcodeName, truncated, makePki, makeTempDir, nextPorts, query, removeDir, txts, Unbound, ZONE, TLS_NAME, type Pki } from './helpers/dns-upstream-servers.js';

let dir: string;
let pki: Pki;
let ub: Unbound;
let base: number;
const opened: Upstream[] = [];
const closers: (() => void)[] = [];

function up(spec: string, idleMs?: number): Upstream {
  const u = createUpstream(spec, idleMs === undefined ? { caFile: pki.caFile } : { caFile: pki.caFile, idleMs });
  opened.push(u);
  return u;
}

before(async () => {
  dir = makeTempDir('transports');
  pki = makePki(dir);
  base = nextPorts();
  ub = new Unbound(dir, { dns: base, tls: base + 1, https: base + 2 }, 'one', pki);
  await ub.start();
});

after(async () => {
  for (const u of opened) u.close();
  for (const c of closers) c();
  await ub?.stop();
  if (dir) removeDir(dir);
});

describe('upstream transports against unbound', () => {
  it('UDP: answers carry the caller\'s ID and the zone data', async () => {
    const u = up(`127.0.0.1:${base}`);
    const q = query(`A.${ZONE.toUpperCase()}`, 'A');
    const r = await u.exchange(q, 2000);
    assert.equal(r.readUInt16BE(0), q.readUInt16BE(0));
    assert.equal(firstA(r), '192.0.2.10');
    assert.equal(rcodeName(r), 'NOERROR');
    const nx = await u.exchange(query(`nothing.${ZONE}`, 'A'), 2000);
    assert.equal(rcodeName(nx), 'NXDOMAIN');
  });

  it('UDP: a truncated answer is asked again over TCP and comes back whole', async () => {
    const u = up(`127.0.0.1:${base}`);
    const r = await u.exchange(query(`big.${ZONE}`, 'TXT'), 3000);
    assert.equal(txts(r).length, BIG_TXT_COUNT);
    assert.equal(truncated(r), false);
    assert.equal(u.stats().tcpRetries, 1);
    // with EDNS the answer fits a UDP datagram and no TCP retry is needed
    const r2 = await u.exchange(query(`big.${ZONE}`, 'TXT', true), 3000);
    assert.equal(txts(r2).length, BIG_TXT_COUNT);
    assert.equal(u.stats().tcpRetries, 1);
  });

  it('TCP: 200 queries in flight share one connection (pipelined, answers matched by ID)', async () => {
    const u = up(`tcp://127.0.0.1:${base}`);
    const names = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? `a.${ZONE}` : `who.${ZONE}`));
    const rs = await Promise.all(names.map((n) => u.exchange(query(n, n.startsWith('a.') ? 'A' : 'TXT'), 5000)));
    rs.forEach((r, i) => {
      if (i % 2 === 0) assert.equal(firstA(r), '192.0.2.10');
      else assert.deepEqual(txts(r), ['one']);
    });
    assert.equal(u.stats().connections, 1);
  });

  it('TCP: an idle connection is closed and the next query opens a new one', async () => {
    const u = up(`tcp://127.0.0.1:${base}`, 200);
    await u.exchange(query(`a.${ZONE}`, 'A'), 2000);
    await new Promise((r) => setTimeout(r, 600));
    const r = await u.exchange(query(`a.${ZONE}`, 'A'), 2000);
    assert.equal(firstA(r), '192.0.2.10');
    assert.equal(u.stats().connections, 2);
  });

  it('TCP: garbage frames from the server are dropped, the genuine answer still matches', async () => {
    const back = up(`tcp://127.0.0.1:${base}`);
    const server = net.createServer((c) => {
      let buf = Buffer.alloc(0);
      c.on('data', async (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + m.length);
          const frame = (b: Buffer): Buffer => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
          c.write(frame(Buffer.alloc(3, 0xff))); // too short to be DNS
          c.write(frame(Buffer.from(m).fill(0x41, 12))); // right ID, mangled question
          const real = await back.exchange(m, 2000);
          c.write(frame(real).subarray(0, 5)); // the genuine answer, split across writes
          setTimeout(() => c.write(frame(real).subarray(5)), 10);
        }
      });
      c.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(base + 7, '127.0.0.1', r));
    closers.push(() => server.close());
    const u = up(`tcp://127.0.0.1:${base + 7}`);
    assert.equal(firstA(await u.exchange(query(`a.${ZONE}`, 'A'), 3000)), '192.0.2.10');
    assert.equal(u.stats().mismatched, 2);
  });

  it('DoT: answers through TLS with the lab CA; the certificate name is checked', async () => {
    const u = up(`tls://127.0.0.1:${base + 1}#${TLS_NAME}`);
    const rs = await Promise.all(Array.from({ length: 50 }, () => u.exchange(query(`a.${ZONE}`, 'A'), 5000)));
    for (const r of rs) assert.equal(firstA(r), '192.0.2.10');
    assert.equal(u.stats().connections, 1);
    const wrongName = up(`tls://127.0.0.1:${base + 1}#other.u3.test`);
    await assert.rejects(wrongName.exchange(query(`a.${ZONE}`, 'A'), 3000), /other\.u3\.test|altnames|Hostname/i);
    const noCa = createUpstream(`tls://127.0.0.1:${base + 1}#${TLS_NAME}`);
    opened.push(noCa);
    await assert.rejects(noCa.exchange(query(`a.${ZONE}`, 'A'), 3000), /self[- ]signed|unable to get|certificate/i);
  });

  it('DoH (unbound https-port, HTTP/2): 300 queries over one session, counted by a TCP proxy in front', async () => {
    let accepted = 0;
    const proxy = net.createServer((c) => {
      accepted++;
      const s = net.connect(base + 2, '127.0.0.1');
      c.pipe(s).pipe(c);
      c.on('error', () => s.destroy());
      s.on('error', () => c.destroy());
    });
    await new Promise<void>((r) => proxy.listen(base + 3, '127.0.0.1', r));
    closers.push(() => proxy.close());
    for (const spec of [`https://127.0.0.1:${base + 3}/dns-query#${TLS_NAME}`, `https://127.0.0.1:${base + 3}/dns-query{?dns}#${TLS_NAME}`]) {
      const before = accepted;
      const u = up(spec);
      for (let round = 0; round < 3; round++) {
        const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => u.exchange(query(i % 2 ? `a.${ZONE}` : `who.${ZONE}`, i % 2 ? 'A' : 'TXT'), 5000)));
        rs.forEach((r, i) => (i % 2 ? assert.equal(firstA(r), '192.0.2.10') : assert.deepEqual(txts(r), ['one'])));
      }
      assert.equal(u.stats().connections, 1, spec);
      assert.equal(accepted - before, 1, `${spec}: TCP connections seen by the proxy`);
      u.close();
    }
  });

  it('DoH: an HTTP error from the server is an upstream error naming the status', async () => {
    const u = up(`https://127.0.0.1:${base + 2}/no-such-endpoint#${TLS_NAME}`);
    await assert.rejects(u.exchange(query(`a.${ZONE}`, 'A'), 3000), /HTTP status 4\d\d/);
  });

  it('DoH: after the server restarts, the next query opens a new session and is answered', async () => {
    const u = up(`https://127.0.0.1:${base + 2}/dns-query#${TLS_NAME}`);
    assert.equal(firstA(await u.exchange(query(`a.${ZONE}`, 'A'), 3000)), '192.0.2.10');
    await ub.stop();
    await ub.start();
    let r: Buffer | undefined;
    for (let i = 0; i < 20 && r === undefined; i++) {
      r = await u.exchange(query(`a.${ZONE}`, 'A'), 2000).catch(() => undefined);
      if (r === undefined) await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(firstA(r!), '192.0.2.10');
    assert.ok(u.stats().connections >= 2, `sessions: ${u.stats().connections}`);
  });

  it('UDP: replies with a wrong ID or another question are dropped; the real answer is taken', async () => {
    // A real UDP server in front of unbound that first sends two forged replies, then the genuine one.
    const front = dgram.createSocket('udp4');
    const back = createUpstream(`127.0.0.1:${base}`);
    opened.push(back);
    front.on('message', (m, rinfo) => {
      const wrongId = Buffer.from(m);
      wrongId.writeUInt16BE(m.readUInt16BE(0) ^ 0x5a5a, 0);
      wrongId[2] = wrongId[2]! | 0x80;
      front.send(wrongId, rinfo.port, rinfo.address);
      void back.exchange(m, 2000).then((real) => {
        const forged = Buffer.from(query(`b.${ZONE}`, 'A'));
        forged.writeUInt16BE(m.readUInt16BE(0), 0); // right ID, wrong question
        forged[2] = forged[2]! | 0x80;
        front.send(forged, rinfo.port, rinfo.address, () => setTimeout(() => front.send(real, rinfo.port, rinfo.address), 20));
      });
    });
    await new Promise<void>((r) => front.bind(base + 4, '127.0.0.1', () => r()));
    closers.push(() => front.close());
    const u = up(`127.0.0.1:${base + 4}`);
    const r = await u.exchange(query(`a.${ZONE}`, 'A'), 3000);
    assert.equal(firstA(r), '192.0.2.10');
    assert.equal(u.stats().mismatched, 2);
  });

  it('UDP: queries leave from several random source ports, replaced as sockets are rotated', async () => {
    const ports = new Set<number>();
    const front = dgram.createSocket('udp4');
    const back = createUpstream(`127.0.0.1:${base}`);
    opened.push(back);
    front.on('message', (m, rinfo) => {
      ports.add(rinfo.port);
      void back.exchange(m, 2000).then((real) => front.send(real, rinfo.port, rinfo.address));
    });
    await new Promise<void>((r) => front.bind(base + 6, '127.0.0.1', () => r()));
    closers.push(() => front.close());
    const u = createUpstream(`127.0.0.1:${base + 6}`, { udpSockets: 4, udpRotateAfter: 10 });
    opened.push(u);
    for (let i = 0; i < 30; i++) assert.equal(firstA(await u.exchange(query(`a.${ZONE}`, 'A'), 2000)), '192.0.2.10');
    assert.ok(ports.size >= 4, `source ports seen: ${[...ports].join(' ')}`);
    for (let i = 0; i < 100; i++) assert.equal(firstA(await u.exchange(query(`a.${ZONE}`, 'A'), 2000)), '192.0.2.10');
    assert.ok(ports.size >= 12, `after rotation, source ports seen: ${ports.size}`);
    assert.ok(u.stats().connections >= 12, `sockets opened: ${u.stats().connections}`);
  });

  it('UDP: a server that only sends forged replies gets a timeout, not a forged answer', async () => {
    const liar = dgram.createSocket('udp4');
    liar.on('message', (m, rinfo) => {
      const forged = Buffer.from(query(`a.${ZONE}`, 'A'));
      forged.writeUInt16BE(m.readUInt16BE(0) ^ 1, 0);
      forged[2] = forged[2]! | 0x80;
      liar.send(forged, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => liar.bind(base + 5, '127.0.0.1', () => r()));
    closers.push(() => liar.close());
    const u = up(`127.0.0.1:${base + 5}`);
    await assert.rejects(u.exchange(query(`a.${ZONE}`, 'A'), 500), /no answer within/);
    assert.equal(u.stats().mismatched, 1);
  });
});
