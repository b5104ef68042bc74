/**
 * Issue #11, the `throttle` action end to end (lab prefix ps2): with the shaper module running, a user's spent
 * daily quota does not end the session — the download goes on, and the device lands in the shaper's fair-use
 * class (2 Mbit/s here), so the next download is much slower. Downloads are real TCP through the real daemon.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnInNs } from '../../src/lab/ns.js';
import type { PortalSessionView, ShaperStatusReport } from '../../src/api/index.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { curlFrom, downloadFrom, downloadSourceScript, until } from './helpers/portal-lab.js';

const PREFIX = 'ps2';
const PORT = 8880;
const SOURCE_PORT = 8081;
const MB = 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SOURCE = downloadSourceScript(SOURCE_PORT);

describe('portal throttle: a spent daily quota slows the device down instead of ending its session', { skip: skipReason, timeout: 180_000 }, () => {
  let g: GatewayLab;
  let c1: string;
  let source: string;

  before(async () => {
    g = await GatewayLab.start(PREFIX, {
      shaper: { download: '40mbit', upload: '20mbit', fair_use_rate: '2mbit', idle: '30s' },
      portal: { listen: `[::]:${PORT}`, auth: ['accounts'], limits: { daily: { download: '2MB' }, actions: { daily: 'throttle' } }, poll: '1s' },
    });
    c1 = g.topo.namespaces.c1;
    source = `http://${g.topo.sites.legit.ipv4}:${SOURCE_PORT}`;
    const src = spawnInNs(g.topo.inet.ns, process.execPath, ['-e', SOURCE], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      src.stdout?.once('data', resolve);
      src.once('exit', reject);
    });
    await g.startDaemon(40_000);
    const r = await g.cli(['users', 'add', 'zoe'], 'zoe-password\n');
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    if (g) await g.close();
  });

  test('over the day: the download goes on at the fair-use rate, the session stays', async () => {
    const jar = join(g.dir, 'jar');
    const portal = `http://${g.topo.gateway.lanIpv4}:${PORT}`;
    const page = await curlFrom(c1, `${portal}/login`, ['-c', jar, '-b', jar]);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(csrf);
    const r = await curlFrom(c1, `${portal}/login`, ['-c', jar, '-b', jar, '--data-urlencode', 'method=accounts', '--data-urlencode', 'username=zoe', '--data-urlencode', 'password=zoe-password', '--data-urlencode', `csrf=${csrf}`]);
    assert.equal(r.http, 303, r.body);
    const sessions = () => g.cliJson<PortalSessionView[]>(['sessions', 'list']);

    const fast = await downloadFrom(c1, `${source}/?bytes=${1 * MB}`, 20);
    assert.equal(fast.bytes, 1 * MB);
    // Crosses the 2 MB day: no kernel quota for a throttle limit, so nothing stops it.
    const over = await downloadFrom(c1, `${source}/?bytes=${1.5 * MB}`, 30);
    assert.equal(over.bytes, 1.5 * MB, 'the download was not cut at the quota');
    const s = await until('the session is throttled', async () => {
      const [x] = await sessions();
      return x?.state === 'throttled' ? x : undefined;
    });
    assert.equal(s.user, 'zoe');
    const shaped = await until('the shaper has zoe in its fair-use class', async () => {
      const st = await g.cliJson<ShaperStatusReport>(['shaper', 'status']);
      return st.clients.find((c) => c.key === 'user:zoe' && c.fairUse);
    });
    assert.ok(shaped.ips.includes(g.topo.clients[0].ipv4));

    const slow = await downloadFrom(c1, `${source}/?bytes=${1 * MB}`, 30, 10);
    assert.equal(slow.bytes, 1 * MB, 'still online, just slower');
    const rate = (c: { bytes: number; seconds: number }) => (c.bytes * 8) / c.seconds / 1e6;
    console.log(`# 1 MB before the quota: ${fast.seconds.toFixed(2)} s (${rate(fast).toFixed(1)} Mbit/s); after, throttled: ${slow.seconds.toFixed(2)} s (${rate(slow).toFixed(1)} Mbit/s; fair_use_rate 2 Mbit/s)`);
    assert.ok(slow.seconds > 4 * fast.seconds, `throttled ${slow.seconds} s vs ${fast.seconds} s before`);
    assert.equal((await sessions()).length, 1);
  });
});
