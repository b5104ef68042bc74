import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { nsExec, spawnInNs } from '../../src/lab/ns.js';
import { connectFrom } from '../../src/lab/probe.js';
import { parseClassStats } from '../../src/shaper/tc.js';
import type { ShaperStatusReport } from '../../src/shaper/index.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';

/*
 * The shaper in a lab with a real daemon: clients get classes when they send, traffic lands in their class
 * (tc class counters), the gateway's own traffic does not; quiet clients lose their classes; SIGTERM removes
 * the qdiscs and the network works; kill -9 leaves the tree and the maps, the network works, and a restart
 * keeps the classes without re-creating them.
 */

const IPERF_PORT = 5201;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(250);
  }
}

describe('shaper in the lab: classes per client, stop and kill -9 leave a working network', { skip: skipReason, timeout: 240_000 }, () => {
  let g: GatewayLab;
  let iperf: ChildProcess[] = [];
  const lan = () => g.topo.gateway.lanBridge;
  const wan = () => g.topo.gateway.wanInterface;
  const server = () => g.topo.sites.legit.ipv4;

  const status = () => g.cliJson<ShaperStatusReport>(['shaper', 'status']);
  const classes = async (dev: string) => parseClassStats((await nsExec(g.topo.namespaces.gw, 'tc', ['-s', 'class', 'show', 'dev', dev])).stdout);
  const rootKind = async (dev: string) => (await nsExec(g.topo.namespaces.gw, 'tc', ['qdisc', 'show', 'dev', dev, 'root'])).stdout;
  /** Downloads for `seconds` from the inet namespace's iperf3 server; returns the bits per second received. */
  const download = async (ns: string, seconds: number): Promise<number> => {
    const port = IPERF_PORT + (ns === g.topo.clients[1].ns ? 1 : 0);
    const r = await nsExec(ns, 'iperf3', ['-c', server(), '-p', String(port), '-R', '-t', String(seconds), '-J'], { timeoutMs: (seconds + 15) * 1000 });
    const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
    return j.end.sum_received.bits_per_second;
  };
  const webWorks = async (ns: string) => (await connectFrom(ns, { host: server(), port: g.topo.sites.legit.httpPort, timeoutMs: 3000, bannerWaitMs: 0 })).outcome;

  before(async () => {
    g = await GatewayLab.start('sk', {
      shaper: { download: '40mbit', upload: '20mbit', p2p_rate: '256kbit', fair_use_rate: '2mbit', idle: '10s' },
    });
    // One server per client: an iperf3 server runs one test at a time.
    iperf = [0, 1].map((i) => spawnInNs(g.topo.namespaces.inet, 'iperf3', ['-s', '-p', String(IPERF_PORT + i)], { stdio: 'ignore' }));
    await g.startDaemon();
  });
  after(async () => {
    for (const p of iperf) p.kill('SIGKILL');
    if (g) await g.close();
  });

  test('status shows the link, the qdiscs this kernel has, and no client before any traffic', async () => {
    const s = await waitFor('the first tick', async () => {
      const s = await status();
      return s.loop.ticks > 0 ? s : undefined;
    });
    assert.equal(s.download, 40e6);
    assert.equal(s.upload, 20e6);
    assert.equal(s.capabilities.htb, true);
    assert.ok(['cake', 'fq_codel', 'sfq', 'pfifo'].includes(s.capabilities.leaf));
    assert.match(await rootKind(lan()), /qdisc htb 1: root/);
    assert.match(await rootKind(wan()), /qdisc htb 1: root/);
    const text = await g.cli(['shaper', 'status']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /leaves (cake|fq_codel|sfq|pfifo)/);
    assert.match(text.stdout, /download 40\.0 Mbit\/s on br-lan/);
  });

  test('a downloading client gets a class, its traffic is counted there, and the link rate holds', async () => {
    const c1 = g.topo.clients[0];
    // A new client's first packets go to the link's default class until the next tick (2 s) gives it one.
    await download(c1.ns, 1);
    const s = await waitFor('client 1 in status', async () => (await status()).clients.find((c) => c.ips.includes(c1.ipv4)));
    assert.equal(s.mac, c1.mac, 'the share is the device, by MAC');
    const before = await classes(lan());
    const bps = await download(c1.ns, 4);
    assert.ok(bps < 40e6 * 1.1, `download ${Math.round(bps / 1e6)} Mbit/s stays under the 40 Mbit/s link`);
    assert.ok(bps > 40e6 * 0.5, `and uses it: ${Math.round(bps / 1e6)} Mbit/s`);
    const down = await classes(lan());
    const grew = (minor: number) => down.find((c) => c.minor === minor)!.bytes - before.find((c) => c.minor === minor)!.bytes;
    assert.ok(grew(s.classId) > 10e6, `client class 1:${s.classId.toString(16)} sent ${grew(s.classId)} bytes`);
    assert.ok(grew(2) < grew(s.classId) / 20, `the default class carried little: ${grew(2)} bytes`);
    const t = await waitFor('bytes today', async () => {
      const x = (await status()).clients.find((c) => c.ips.includes(c1.ipv4));
      return x && x.bytesToday.down > 10e6 ? x : undefined;
    });
    // The hourly history in the store has the same bytes, under the same share key.
    const shown = await g.cli(['shaper', 'status']);
    assert.match(shown.stdout, new RegExp(`${c1.mac}\\s+${c1.ipv4.replace(/\./g, '\\.')}`), shown.stdout);
    process.stdout.write(`# gatehouse shaper status:\n${shown.stdout.replace(/^/gm, '#   ')}\n`);
    const u = await g.cliJson<{ rows: { client: string; down: number }[] }>(['shaper', 'usage', '--client', t.key]);
    assert.ok(u.rows.length >= 1 && u.rows.reduce((n, r) => n + r.down, 0) >= t.bytesToday.down * 0.9, JSON.stringify(u.rows));
    // The leaves: the iperf3 flow starts interactive and drops to bulk once an elephant; never P2P.
    const leaves = down.filter((c) => c.parent === s.classId);
    assert.equal(leaves.length, 3, 'interactive, bulk and p2p leaves');
    assert.ok(grew(s.classId + 1) + grew(s.classId + 2) > 10e6, 'the bytes went through the interactive and bulk leaves');
    assert.ok(grew(s.classId + 2) > 1e6, `the flow dropped to the bulk leaf once an elephant: ${grew(s.classId + 2)} bytes there`);
    assert.ok(grew(s.classId + 3) < 1e5, `no P2P bytes: ${grew(s.classId + 3)}`);
    // The upload side has the same class on WAN egress (the ACKs went there).
    const up = await classes(wan());
    assert.ok(up.find((c) => c.minor === s.classId)!.packets > 0, 'upload class on the WAN carried packets');
  });

  test("the device's IPv6 address joins its share; fair use caps the share and lifting it restores it", async () => {
    const c1 = g.topo.clients[0];
    const r6 = await nsExec(c1.ns, 'iperf3', ['-6', '-c', g.topo.sites.legit.ipv6, '-p', String(IPERF_PORT), '-R', '-t', '1', '-J'], { timeoutMs: 20_000 });
    assert.ok(JSON.parse(r6.stdout).end.sum_received.bytes > 0);
    const both = await waitFor('one share with both addresses', async () => (await status()).clients.find((c) => c.ips.includes(c1.ipv4) && c.ips.includes(c1.ipv6)));
    assert.equal(both.mac, c1.mac);
    const on = await g.cli(['shaper', 'fair-use', 'on', c1.ipv4, c1.ipv6]);
    assert.equal(on.code, 0, on.stderr);
    assert.equal((await status()).clients.find((c) => c.mac === c1.mac)?.fairUse, true);
    const capped = await download(c1.ns, 3);
    assert.ok(capped < 2e6 * 1.3, `in fair use the download stays near 2 Mbit/s: ${(capped / 1e6).toFixed(2)} Mbit/s`);
    const off = await g.cli(['shaper', 'fair-use', 'off', c1.ipv4, c1.ipv6]);
    assert.equal(off.code, 0, off.stderr);
    const free = await download(c1.ns, 2);
    assert.ok(free > capped * 5, `after it, the whole link again: ${(free / 1e6).toFixed(1)} Mbit/s`);
    const bad = await g.cli(['shaper', 'fair-use', 'on', '10.77.0.10; reboot']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /IPv4 or IPv6 address/);
  });

  test("the gateway's own traffic stays out of the clients' classes", async () => {
    const c1 = g.topo.clients[0];
    const id = (await status()).clients.find((c) => c.ips.includes(c1.ipv4))!.classId;
    const before = await classes(lan());
    // iperf3 from the gateway itself to client 1: local output on LAN egress, not forwarded.
    const srv = spawnInNs(c1.ns, 'iperf3', ['-s', '-1', '-p', String(IPERF_PORT)], { stdio: 'ignore' });
    try {
      await sleep(500);
      await nsExec(g.topo.namespaces.gw, 'iperf3', ['-c', c1.ipv4, '-p', String(IPERF_PORT), '-t', '1'], { timeoutMs: 15_000 });
    } finally {
      srv.kill('SIGKILL');
    }
    const after = await classes(lan());
    const grew = (minor: number) => after.find((c) => c.minor === minor)!.bytes - before.find((c) => c.minor === minor)!.bytes;
    assert.ok(grew(3) > 5e6, `the gateway's class 1:3 carried its traffic (${grew(3)} bytes)`);
    assert.ok(grew(id) < 1e6, `client 1's class did not (${grew(id)} bytes)`);
    assert.ok(grew(2) < 1e6, `nor the default class of the link (${grew(2)} bytes)`);
  });

  test('a second client gets its own class; the first keeps its', async () => {
    const [c1, c2] = g.topo.clients;
    const bg = download(c1.ns, 6);
    const first = await waitFor('client 1 active', async () => (await status()).clients.find((c) => c.ips.includes(c1.ipv4) && c.downBps > 0));
    await download(c2.ns, 2);
    const s = await waitFor('client 2 in status', async () => (await status()).clients.find((c) => c.ips.includes(c2.ipv4)));
    assert.notEqual(s.classId, first.classId);
    const still = (await status()).clients.find((c) => c.ips.includes(c1.ipv4));
    assert.equal(still?.classId, first.classId, 'client 1 kept its class');
    await bg;
  });

  test('a quiet client loses its class (idle 10s)', async () => {
    const c2 = g.topo.clients[1];
    const id = (await status()).clients.find((c) => c.ips.includes(c2.ipv4))!.classId;
    await waitFor('client 2 removed', async () => ((await status()).clients.some((c) => c.ips.includes(c2.ipv4)) ? undefined : true), 30_000);
    assert.equal((await classes(lan())).some((c) => c.minor === id), false, 'its class is gone from the LAN device');
    assert.equal((await classes(wan())).some((c) => c.minor === id), false, 'and from the WAN device');
  });

  test('kill -9 leaves the tree and the maps: shaped and working; a restart keeps the classes', async () => {
    const c1 = g.topo.clients[0];
    // One download across the kill and the restart: the client never goes quiet.
    const running = download(c1.ns, 12);
    const id = (await waitFor('client 1 downloading', async () => (await status()).clients.find((c) => c.ips.includes(c1.ipv4) && c.downBps > 1e6))).classId;
    await g.stopDaemon('SIGKILL');
    assert.match(await rootKind(lan()), /qdisc htb 1: root/, 'the qdisc stays');
    assert.equal(await webWorks(c1.ns), 'connected', 'the web works with the daemon dead');
    // A class no map points to, as a run killed in the middle of a change could leave: the restart removes it.
    for (const dev of [lan(), wan()]) await nsExec(g.topo.namespaces.gw, 'tc', ['class', 'add', 'dev', dev, 'parent', '1:1', 'classid', '1:150', 'htb', 'rate', '1mbit']);
    const sentBefore = (await classes(lan())).find((c) => c.minor === id)!.bytes;
    await sleep(1000);
    assert.ok((await classes(lan())).find((c) => c.minor === id)!.bytes > sentBefore, 'the class keeps carrying the download while the daemon is dead');
    await g.startDaemon();
    // Restart re-asserts in place: the class keeps its counters (a re-created class would start at 0).
    const s = await waitFor('client 1 after restart', async () => {
      const st = await status();
      return st.loop.ticks > 1 ? st.clients.find((c) => c.ips.includes(c1.ipv4)) : undefined;
    });
    assert.equal(s.classId, id, 'same class after the restart');
    const sentAfter = (await classes(lan())).find((c) => c.minor === id)!.bytes;
    assert.ok(sentAfter > sentBefore, `class counters kept (${sentBefore} → ${sentAfter}): not deleted and re-added`);
    await waitFor('the stray class removed', async () => ((await classes(lan())).some((c) => c.minor === 0x150) ? undefined : true));
    assert.equal((await classes(wan())).some((c) => c.minor === 0x150), false, 'on the WAN device too');
    const bps = await running;
    assert.ok(bps < 40e6 * 1.1 && bps > 5e6, `shaped to the link throughout: ${Math.round(bps / 1e6)} Mbit/s`);
  });

  test('SIGTERM removes the qdiscs and the network works unshaped', async () => {
    const c1 = g.topo.clients[0];
    await g.stopDaemon('SIGTERM');
    assert.doesNotMatch(await rootKind(lan()), /htb/, 'no HTB on the LAN device');
    assert.doesNotMatch(await rootKind(wan()), /htb/, 'no HTB on the WAN device');
    assert.equal(await webWorks(c1.ns), 'connected');
    const bps = await download(c1.ns, 2);
    assert.ok(bps > 40e6 * 1.2, `unshaped now: ${Math.round(bps / 1e6)} Mbit/s > the 40 Mbit/s it was shaped to`);
  });
});
