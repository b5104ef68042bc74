/**
 * Issue #8, the load test: 20,000 idle or slow connections against each listener in turn (the LAPI, the
 * mirror, the admin API on TCP and on its Unix socket), from 40 LAN addresses so that the per-client
 * caps alone cannot hide a listener that holds too much. Meanwhile the other listeners answer, the
 * daemon's open files stay within its caps and its memory under RSS_BOUND_MB.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ipIn } from '../../src/lab/ns.js';
import { httpGetFrom } from '../../src/lab/probe.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { Holder, openFds, rssMb } from './helpers/holder.js';
import type { HolderSpec } from './helpers/conn-holder.js';

const GW = '10.77.0.1';
const PORTS = { lapi: 8081, mirror: 41412, admin: 8082 };
const TOKEN = 'load-test-admin-token';
/** The daemon's resident memory while any listener is flooded (it idles at about 100–120 MB; without the caps it passed 230 MB and then exited). */
const RSS_BOUND_MB = 200;
/** Every cap (1,024 + 256 + 64 + 64) plus the daemon's own files and the reserve it keeps for them. */
const FD_BOUND = 1408 + 256;
const SOURCES = Array.from({ length: 40 }, (_, i) => `10.77.0.${100 + i}`);

type Listener = 'lapi' | 'mirror' | 'admin TCP' | 'admin socket';

describe('20,000 idle or slow connections against every listener', { skip: skipReason, timeout: 170_000 }, () => {
  let g: GatewayLab;
  let key = '';
  let holder: Holder | undefined;
  const peak = { rss: 0, fds: 0 };

  before(async () => {
    g = await GatewayLab.start('h2b', {
      api: { listen: `${GW}:${PORTS.admin}`, token_sha256: createHash('sha256').update(TOKEN).digest('hex') },
      lapi: { listen: `${GW}:${PORTS.lapi}` },
      mirror: { listen: `${GW}:${PORTS.mirror}`, endpoints: [{ path: '/security/blocklist', format: 'plain_text', auth: 'none' }] },
    });
    const c1 = g.topo.clients[0];
    for (const a of SOURCES) await ipIn(c1.ns, ['addr', 'add', `${a}/24`, 'dev', c1.ifname]);
    await g.startDaemon();
    const add = await g.cli(['bouncers', 'add', 'bob-bouncer']);
    assert.equal(add.code, 0, add.stderr);
    key = add.stdout.trim().split('\n').at(-1)!;
    assert.equal((await g.cli(['decisions', 'add', '198.51.100.99', '--duration', '1h'])).code, 0);
  });
  after(async () => {
    await holder?.stop();
    if (g) await g.close();
    process.stderr.write(`load test peak: ${peak.rss.toFixed(0)} MB RSS, ${peak.fds} open files\n`);
  });

  /** Asks each listener but `busy` for something a real client would, from the other LAN client. */
  async function othersAnswer(busy: Listener): Promise<void> {
    const c2 = g.topo.namespaces.c2;
    if (busy !== 'lapi') {
      const r = await httpGetFrom(c2, `http://${GW}:${PORTS.lapi}/v1/decisions/stream?startup=true`, 5000, { headers: { 'X-Api-Key': key } });
      assert.equal(r.status, 200, `LAPI while ${busy} is flooded: ${JSON.stringify(r)}`);
      assert.match(r.body ?? '', /198\.51\.100\.99/);
    }
    if (busy !== 'mirror') {
      const r = await httpGetFrom(c2, `http://${GW}:${PORTS.mirror}/security/blocklist`, 5000);
      assert.equal(r.status, 200, `mirror while ${busy} is flooded: ${JSON.stringify(r)}`);
    }
    if (busy !== 'admin TCP') {
      const r = await httpGetFrom(c2, `http://${GW}:${PORTS.admin}/v1/status`, 5000, { headers: { Authorization: `Bearer ${TOKEN}` } });
      assert.equal(r.status, 200, `admin TCP while ${busy} is flooded: ${JSON.stringify(r)}`);
    }
    if (busy !== 'admin socket') {
      const r = await g.cli(['status']);
      assert.equal(r.code, 0, `admin socket while ${busy} is flooded: ${r.stderr}`);
    }
  }

  async function flood(busy: Listener, ns: string | undefined, spec: HolderSpec): Promise<void> {
    const pid = g.daemon!.pid!;
    const started = Date.now();
    holder = Holder.start(ns, spec);
    try {
      const r = await holder.settled(25_000);
      const [rss, fds] = [await rssMb(pid), await openFds(pid)];
      peak.rss = Math.max(peak.rss, rss);
      peak.fds = Math.max(peak.fds, fds);
      process.stderr.write(`${busy}: ${JSON.stringify(r)} in ${Date.now() - started} ms; daemon ${rss.toFixed(0)} MB RSS, ${fds} open files\n`);
      assert.equal(r.attempted, 20_000);
      assert.equal(g.daemon?.exitCode ?? null, null, 'the daemon is still running');
      assert.ok(fds <= FD_BOUND, `${fds} open files with ${busy} flooded`);
      assert.ok(rss < RSS_BOUND_MB, `${rss.toFixed(0)} MB RSS with ${busy} flooded`);
      await othersAnswer(busy);
    } finally {
      await holder.stop();
      holder = undefined;
    }
    // The daemon lets go of the connections the holder dropped before the next listener's turn.
    const deadline = Date.now() + 15_000;
    while ((await openFds(pid)) > 200) {
      assert.ok(Date.now() < deadline, `still ${await openFds(pid)} open files after the holder left`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const tcp = (port: number): HolderSpec => ({ target: { host: GW, port }, count: 20_000, sources: SOURCES, concurrency: 500, trickleMs: 2000 });

  test('the LAPI', async () => flood('lapi', g.topo.namespaces.c1, tcp(PORTS.lapi)));
  test('the mirror', async () => flood('mirror', g.topo.namespaces.c1, tcp(PORTS.mirror)));
  test('the admin API on TCP', async () => flood('admin TCP', g.topo.namespaces.c1, tcp(PORTS.admin)));
  test('the admin API on its Unix socket', async () =>
    flood('admin socket', undefined, { target: { path: join(g.dir, 'data', 'api.sock') }, count: 20_000, concurrency: 500, trickleMs: 2000 }));
  test('and afterwards a new decision is still enforced', async () => {
    assert.equal((await g.cli(['decisions', 'add', '203.0.113.66', '--duration', '1h'])).code, 0);
    assert.match(await g.nft(['list', 'set', 'inet', 'gatehouse', 'both_ip4']), /203\.0\.113\.66/);
  });
});
