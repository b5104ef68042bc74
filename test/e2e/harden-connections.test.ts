/**
 * Issue #8, finding 2: an unauthenticated LAN client opening ~20,000 connections with partial headers to
 * the LAPI and the mirror must not take the daemon down (it used to run out of file descriptors, the next
 * `spawn nft` failed with EMFILE and the unhandled error ended the process). Everyone else keeps being
 * served: another client's bouncer pull, the admin CLI, and a new decision reaches the kernel.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { httpGetFrom } from '../../src/lab/probe.js';
import { ipIn, spawnInNs } from '../../src/lab/ns.js';
import { CLI_PATH, waitForDaemon } from '../../src/lab/gateway-runner.js';
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

describe('a daemon with a low open-file limit', { skip: skipReason, timeout: 120_000 }, () => {
  let g: GatewayLab;
  let holder: Holder | undefined;
  const LIMIT = 512;

  before(async () => {
    g = await GatewayLab.start('h2f', { lapi: { listen: `10.77.0.1:${LAPI_PORT}` } });
    const c1 = g.topo.clients[0];
    for (let i = 0; i < 40; i++) await ipIn(c1.ns, ['addr', 'add', `10.77.0.${100 + i}/24`, 'dev', c1.ifname]);
    await g.writeConfig();
    // Started like LabGateway.startDaemon, but under prlimit (which execs the daemon, so the PID is its own).
    const fd = openSync(g.logFile, 'a');
    try {
      g.daemon = spawnInNs(g.topo.namespaces.gw, 'prlimit', [`--nofile=${LIMIT}:${LIMIT}`, '--', process.execPath, CLI_PATH, 'run', '--config', g.configFile], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    await waitForDaemon(g.daemon, async () => (await g.cli(['status'])).code === 0, () => g.log(), 20_000);
  });
  after(async () => {
    await holder?.stop();
    if (g) await g.close();
  });

  test('sizes its caps to the limit, says so, and keeps descriptors for nft under a flood from 40 addresses', async () => {
    assert.match(await g.log(), new RegExp(`open-file limit ${LIMIT} is low .*LimitNOFILE`));
    holder = Holder.start(g.topo.namespaces.c1, {
      target: { host: '10.77.0.1', port: LAPI_PORT },
      count: 20_000,
      sources: Array.from({ length: 40 }, (_, i) => `10.77.0.${100 + i}`),
      concurrency: 500,
      trickleMs: 2000,
    });
    await holder.settled(60_000);
    const fds = await openFds(g.daemon!.pid!);
    assert.ok(fds <= LIMIT - 128, `${fds} of ${LIMIT} descriptors in use: too few left for nft`);
    const ban = await g.cli(['decisions', 'add', '203.0.113.66', '--duration', '1h']);
    assert.equal(ban.code, 0, ban.stderr);
    assert.match(await g.nft(['list', 'set', 'inet', 'gatehouse', 'both_ip4']), /203\.0\.113\.66/);
    assert.equal(g.daemon?.exitCode ?? null, null, 'daemon still running');
  });
});
