/**
 * Issue #8, finding 2: an unauthenticated LAN client opening ~20,000 connections with partial headers to
 * the LAPI and the mirror must not take the daemon down (it used to run out of file descriptors, the next
 * `spawn nft` failed with EMFILE and the unhandled error ended the process). Everyone else keeps being
 * served: another client's bouncer pull, the admin CLI, and a new decision reaches the kernel.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { httpGetFrom } from '../../src/lab/probe.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { Holder, openFds, rssMb } from './helpers/holder.js';

const LAPI_PORT = 8081;
const MIRROR_PORT = 41412;

describe('a LAN client holding 20,000 half-open requests', { skip: skipReason, timeout: 120_000 }, () => {
  let g: GatewayLab;
  const holders: Holder[] = [];

  before(async () => {
    g = await GatewayLab.start('h2a', {
      lapi: { listen: `10.77.0.1:${LAPI_PORT}` },
      mirror: { listen: `10.77.0.1:${MIRROR_PORT}`, endpoints: [{ path: '/security/blocklist', format: 'plain_text', auth: 'none' }] },
    });
    await g.startDaemon();
  });
  after(async () => {
    await Promise.allSettled(holders.map((h) => h.stop()));
    if (g) await g.close();
  });

  test('to the LAPI and the mirror port: the daemon stays up and keeps serving everyone else', async () => {
    const add = await g.cli(['bouncers', 'add', 'bob-bouncer']);
    assert.equal(add.code, 0, add.stderr);
    const key = add.stdout.trim().split('\n').at(-1)!;
    // Something to serve, so the mirror answers 200 rather than "no decisions".
    assert.equal((await g.cli(['decisions', 'add', '198.51.100.99', '--duration', '1h'])).code, 0);
    const pid = g.daemon!.pid!;

    const c1 = g.topo.namespaces.c1;
    for (const port of [LAPI_PORT, MIRROR_PORT]) {
      holders.push(Holder.start(c1, { target: { host: '10.77.0.1', port }, count: 20_000, concurrency: 500, trickleMs: 2000 }));
    }
    const reports = await Promise.all(holders.map((h) => h.settled(60_000)));
    // The collector spawns nft every second, the ban below spawns another: a daemon out of descriptors
    // falls over at one of them.
    assert.equal(g.daemon?.exitCode ?? null, null, `daemon exited:\n${(await g.log()).slice(-3000)}`);
    const fds = await openFds(pid);
    const rss = await rssMb(pid);
    process.stderr.write(`holders: ${JSON.stringify(reports)}; daemon: ${fds} fds, ${rss.toFixed(0)} MB RSS\n`);

    const c2 = g.topo.namespaces.c2;
    const pull = await httpGetFrom(c2, `http://10.77.0.1:${LAPI_PORT}/v1/decisions/stream?startup=true`, 5000, { headers: { 'X-Api-Key': key } });
    assert.equal(pull.outcome, 'response', JSON.stringify(pull));
    assert.equal(pull.status, 200);
    assert.match(pull.body ?? '', /198\.51\.100\.99/);
    const mirror = await httpGetFrom(c2, `http://10.77.0.1:${MIRROR_PORT}/security/blocklist`, 5000);
    assert.equal(mirror.status, 200, JSON.stringify(mirror));
    assert.match(mirror.body ?? '', /198\.51\.100\.99/);

    const status = await g.cli(['status']);
    assert.equal(status.code, 0, status.stderr);
    const ban = await g.cli(['decisions', 'add', '203.0.113.66', '--duration', '1h', '--reason', 'still enforced under load']);
    assert.equal(ban.code, 0, ban.stderr);
    assert.match(await g.nft(['list', 'set', 'inet', 'gatehouse', 'both_ip4']), /203\.0\.113\.66/);
    assert.equal(g.daemon?.exitCode ?? null, null, 'daemon still running at the end');
  });
});
