import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectFrom, httpGetFrom } from '../../src/lab/probe.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { labGatewayConfig } from '../../src/lab/gateway-runner.js';
import { bannerText } from '../../src/lab/server-spec.js';
import type { BlockEvent } from '../../src/store/block-events.js';
import type { AllowEntry, Decision } from '../../src/decisions/types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value, or fails after `ms` naming `what`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(100);
  }
}

/** Polls `gatehouse blocks` until a row matching `pred` appears (the collector runs every second). */
async function waitForBlock(g: GatewayLab, pred: (b: BlockEvent) => boolean, args: string[] = []): Promise<BlockEvent> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const blocks = await g.cliJson<BlockEvent[]>(['blocks', ...args]);
    const hit = blocks.find(pred);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no matching block event; have: ${JSON.stringify(blocks, null, 1)}`);
    await sleep(300);
  }
}

describe('reputation firewall in the lab', { skip: skipReason, timeout: 300_000 }, () => {
  let g: GatewayLab;
  let c1: string;
  let inet: string;
  /** Set by a test that writes its own config or stops the daemon: the next test starts from the lab's. */
  let customized = false;

  before(async () => {
    g = await GatewayLab.start('n6fw');
    c1 = g.topo.namespaces.c1;
    inet = g.topo.namespaces.inet;
  });
  after(async () => {
    if (g) await g.close();
  });
  // Every test starts from the same state, whatever ran before it: the lab's config, a running daemon,
  // no decisions and no allow entries. (Block events stay: each test looks for its own addresses.)
  beforeEach(async () => {
    const running = g.daemon !== undefined && g.daemon.exitCode === null && g.daemon.signalCode === null;
    if (!running || customized) {
      await g.stopDaemon();
      await g.writeConfig(labGatewayConfig(g.topo, g.dir));
      await g.startDaemon();
      customized = false;
    }
    await g.cliJson(['decisions', 'delete', '--origin', 'manual']);
    for (const a of await g.cliJson<AllowEntry[]>(['allow', 'list'])) await g.cliJson(['allow', 'delete', String(a.id)]);
    assert.deepEqual(await g.cliJson<Decision[]>(['decisions', 'list']), [], 'a clean start for the test');
  });

  test('outbound: a LAN client reaching a listed server fails at once, and the report says who, where and why', async () => {
    const phish = g.topo.sites.phishing;
    const open = await httpGetFrom(c1, `http://${phish.ipv4}:${phish.httpPort}/`, 3000);
    assert.equal(open.outcome, 'response', 'phishing site reachable before the ban');

    const add = await g.cli(['decisions', 'add', phish.ipv4, '--reason', 'fake amazon login page', '--duration', '1h']);
    assert.equal(add.code, 0, add.stderr);

    const r = await connectFrom(c1, { host: phish.ipv4, port: phish.httpPort, timeoutMs: 5000, bannerWaitMs: 0 });
    assert.notEqual(r.outcome, 'connected');
    assert.notEqual(r.outcome, 'timeout', 'must fail fast (TCP reset), not hang');
    assert.ok(r.ms < 1000, `failed after ${r.ms} ms`);
    // A second attempt, so the report counts attempts.
    await connectFrom(c1, { host: phish.ipv4, port: phish.httpPort, timeoutMs: 5000, bannerWaitMs: 0 });

    const legit = await httpGetFrom(c1, `http://${g.topo.sites.legit.ipv4}:${g.topo.sites.legit.httpPort}/`, 3000);
    assert.equal(legit.outcome, 'response', 'other sites stay reachable');

    const ev = await waitForBlock(g, (b) => b.remoteIp === phish.ipv4 && b.count >= 2, ['--direction', 'outbound']);
    assert.equal(ev.direction, 'outbound');
    assert.equal(ev.mode, 'blocked');
    assert.equal(ev.clientIp, g.topo.clients[0].ipv4);
    assert.equal(ev.clientMac, g.topo.clients[0].mac.toLowerCase());
    assert.equal(ev.clientName, 'alice-laptop');
    assert.equal(ev.port, phish.httpPort);
    assert.equal(ev.protocol, 'tcp');
    assert.equal(ev.decisions[0]?.reason, 'fake amazon login page');
    assert.equal(ev.decisions[0]?.origin, 'manual');
    assert.ok(ev.lastSeen >= ev.firstSeen);

    const text = await g.cli(['blocks']);
    assert.match(text.stdout, /alice-laptop/);
    assert.match(text.stdout, /fake amazon login page/);

    const explain = await g.cli(['explain', phish.ipv4]);
    assert.match(explain.stdout, /LISTED by 1 decision/);
    assert.match(explain.stdout, new RegExp(g.topo.clients[0].ipv4.replace(/\./g, '\\.')));
  });

  test('inbound: a listed attacker is dropped at the gateway (input) and towards the LAN (forward)', async () => {
    const atk = g.topo.attacker.ipv4;
    const fwd = g.topo.portForward;
    const before = await connectFrom(inet, { host: fwd.wanAddress, port: fwd.wanPort, sourceAddress: atk, timeoutMs: 3000 });
    assert.equal(before.outcome, 'connected', 'port-forward reachable before the ban');
    const gwBefore = await connectFrom(inet, { host: g.topo.gateway.wanIpv4, port: 23, sourceAddress: atk, timeoutMs: 3000, bannerWaitMs: 0 });
    assert.equal(gwBefore.outcome, 'refused', 'the gateway answers (closed port) before the ban');

    assert.equal((await g.cli(['decisions', 'add', atk, '--direction', 'inbound', '--reason', 'ssh brute force'])).code, 0);
    const fwdAfter = await connectFrom(inet, { host: fwd.wanAddress, port: fwd.wanPort, sourceAddress: atk, timeoutMs: 1500 });
    assert.equal(fwdAfter.outcome, 'timeout', 'forwarded connection silently dropped');
    const gwAfter = await connectFrom(inet, { host: g.topo.gateway.wanIpv4, port: 23, sourceAddress: atk, timeoutMs: 1500, bannerWaitMs: 0 });
    assert.equal(gwAfter.outcome, 'timeout', 'connection to the gateway itself silently dropped');

    // Other internet hosts still get in.
    const other = await connectFrom(inet, { host: fwd.wanAddress, port: fwd.wanPort, sourceAddress: g.topo.sites.legit.ipv4, timeoutMs: 3000 });
    assert.equal(other.outcome, 'connected');

    const ev = await waitForBlock(g, (b) => b.remoteIp === atk && b.direction === 'inbound' && b.port === fwd.toPort);
    assert.equal(ev.clientIp, g.topo.clients[0].ipv4, 'inbound report names the LAN host behind the port-forward');
    assert.equal(ev.decisions[0]?.reason, 'ssh brute force');
  });

  test('an inbound-only decision does not block the LAN from reaching that address', async () => {
    const atk = g.topo.attacker;
    const ssh = g.topo.ports.banner;
    assert.equal((await g.cli(['decisions', 'add', atk.ipv4, '--direction', 'inbound', '--reason', 'ssh brute force'])).code, 0);
    assert.equal((await g.cli(['decisions', 'add', atk.ipv6, '--direction', 'inbound', '--reason', 'ssh brute force'])).code, 0);
    // The attacker's host serves a banner: a real answer, which neither an outbound reject nor a dropped
    // reply (the SYN-ACK comes back inbound) can produce.
    for (const [host, family] of [[atk.ipv4, 4], [atk.ipv6, 6]] as const) {
      const r = await connectFrom(c1, { host, port: ssh, family, timeoutMs: 3000 });
      assert.deepEqual([r.outcome, r.banner], ['connected', bannerText(g.topo, 'attacker')], `LAN → ${host}: ${JSON.stringify(r)}`);
    }
    // Still dropped the other way, so the decision is in force while the LAN gets through.
    const fwd = g.topo.portForward;
    const inbound = await connectFrom(inet, { host: fwd.wanAddress, port: fwd.wanPort, sourceAddress: atk.ipv4, timeoutMs: 1500 });
    assert.equal(inbound.outcome, 'timeout');
  });

  test('a listed CIDR covers its members, and IPv6 works both ways', async () => {
    const legit = g.topo.sites.legit;
    assert.equal((await g.cli(['decisions', 'add', `${legit.ipv4.split('.').slice(0, 3).join('.')}.0/24`, '--reason', 'bad hoster'])).code, 0);
    const r4 = await connectFrom(c1, { host: legit.ipv4, port: legit.httpPort, timeoutMs: 3000, bannerWaitMs: 0 });
    assert.notEqual(r4.outcome, 'connected');
    assert.ok(r4.ms < 1000);

    const phish6 = g.topo.sites.phishing.ipv6;
    const open6 = await connectFrom(c1, { host: phish6, port: 80, family: 6, timeoutMs: 3000, bannerWaitMs: 0 });
    assert.equal(open6.outcome, 'connected');
    assert.equal((await g.cli(['decisions', 'add', phish6, '--reason', 'phishing v6'])).code, 0);
    const r6 = await connectFrom(c1, { host: phish6, port: 80, family: 6, timeoutMs: 3000, bannerWaitMs: 0 });
    assert.notEqual(r6.outcome, 'connected');
    assert.notEqual(r6.outcome, 'timeout');
    const ev = await waitForBlock(g, (b) => b.remoteIp === phish6);
    assert.equal(ev.clientIp, g.topo.clients[0].ipv6);

    const atk6 = g.topo.attacker.ipv6;
    const c1v6 = g.topo.clients[0].ipv6;
    assert.equal((await connectFrom(inet, { host: c1v6, port: g.topo.ports.banner, sourceAddress: atk6, family: 6, timeoutMs: 3000 })).outcome, 'connected');
    assert.equal((await g.cli(['decisions', 'add', `${atk6}/64`, '--direction', 'inbound'])).code, 0);
    const in6 = await connectFrom(inet, { host: c1v6, port: g.topo.ports.banner, sourceAddress: atk6, family: 6, timeoutMs: 1500 });
    assert.equal(in6.outcome, 'timeout');
  });

  test('an allow entry beats every decision, and deleting it restores the block', async () => {
    const legit = g.topo.sites.legit;
    assert.equal((await g.cli(['decisions', 'add', `${legit.ipv4.split('.').slice(0, 3).join('.')}.0/24`, '--reason', 'bad hoster'])).code, 0);
    assert.notEqual((await connectFrom(c1, { host: legit.ipv4, port: legit.httpPort, timeoutMs: 3000, bannerWaitMs: 0 })).outcome, 'connected', 'the /24 blocks it');
    assert.equal((await g.cli(['allow', 'add', legit.ipv4, '--reason', 'our school website'])).code, 0);
    const ok = await httpGetFrom(c1, `http://${legit.ipv4}:${legit.httpPort}/`, 3000);
    assert.equal(ok.outcome, 'response');
    const explain = await g.cli(['explain', legit.ipv4]);
    assert.match(explain.stdout, /ALLOWED/);
    assert.equal((await g.cli(['allow', 'delete', legit.ipv4])).code, 0);
    const blocked = await connectFrom(c1, { host: legit.ipv4, port: legit.httpPort, timeoutMs: 3000, bannerWaitMs: 0 });
    assert.notEqual(blocked.outcome, 'connected');
  });

  test('an expired decision stops blocking; a deleted one too', async () => {
    const ip = '203.0.113.99';
    const legit6 = g.topo.sites.legit.ipv6;
    assert.equal((await g.cli(['decisions', 'add', legit6, '--duration', '2s'])).code, 0);
    assert.notEqual((await connectFrom(c1, { host: legit6, port: 80, family: 6, timeoutMs: 3000, bannerWaitMs: 0 })).outcome, 'connected');
    // The expiry loop runs every second (lab config): the site comes back within a few of them.
    await until('the expired decision stops blocking', async () =>
      (await connectFrom(c1, { host: legit6, port: 80, family: 6, timeoutMs: 3000, bannerWaitMs: 0 })).outcome === 'connected' ? true : undefined);
    const listed = await g.cliJson<Decision[]>(['decisions', 'list', '--value', legit6]);
    assert.equal(listed.length, 0, 'expired decision no longer listed');

    assert.equal((await g.cli(['decisions', 'add', ip])).code, 0);
    assert.equal((await g.cli(['decisions', 'delete', '--value', ip])).code, 0);
    const nftOut = await g.nft(['-j', 'list', 'set', 'inet', 'gatehouse', 'both_ip4']);
    assert.ok(!nftOut.includes(ip), 'deleted decision left the kernel set');
  });

  test('bad input gets one clear line and changes nothing', async () => {
    const before = await g.cliJson<Decision[]>(['decisions', 'list']);
    const bad = await g.cli(["decisions", "add", "300.1.2.3"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /not an IP address or CIDR range/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    const badDur = await g.cli(['decisions', 'add', '192.0.2.200', '--duration', 'soon']);
    assert.notEqual(badDur.code, 0);
    assert.match(badDur.stderr, /duration/);
    const after = await g.cliJson<Decision[]>(['decisions', 'list']);
    assert.deepEqual(after.map((d) => d.id), before.map((d) => d.id));

    const file = join(g.dir, 'import.txt');
    await writeFile(file, '# my list\n198.18.0.1\n198.18.0.2 # scanner\nnot-an-ip\n198.18.0.0/33\n\n198.18.1.0/24\n2001:db8:bad::1\n');
    const imp = await g.cliJson<{ added: number; skipped: number }>(['decisions', 'import', file, '--reason', 'bulk']);
    assert.equal(imp.added, 4);
    assert.equal(imp.skipped, 2);
    const set = await g.nft(['-j', 'list', 'set', 'inet', 'gatehouse', 'both_ip4']);
    assert.ok(set.includes('198.18.0.2'));
  });

  test('kill -9 leaves the protection in place, and a restart reconciles without a gap', async () => {
    const phish = g.topo.sites.phishing;
    assert.equal((await g.cli(['decisions', 'add', phish.ipv4, '--reason', 'fake amazon login page'])).code, 0);
    customized = true;
    await g.stopDaemon('SIGKILL');
    const during = await connectFrom(c1, { host: phish.ipv4, port: phish.httpPort, timeoutMs: 3000, bannerWaitMs: 0 });
    assert.notEqual(during.outcome, 'connected', 'still blocked with the daemon dead');

    // Probe continuously while the daemon restarts: not one connection may get through.
    let stop = false;
    let probes = 0;
    let leaks = 0;
    const prober = (async () => {
      while (!stop) {
        const r = await connectFrom(c1, { host: phish.ipv4, port: phish.httpPort, timeoutMs: 1000, bannerWaitMs: 0 });
        probes++;
        if (r.outcome === 'connected') leaks++;
      }
    })();
    await g.startDaemon();
    // Keep probing the freshly started daemon's reconciled table for a few more connections.
    const atStart = probes;
    await until('three probes after the restart', async () => (probes >= atStart + 3 ? true : undefined));
    stop = true;
    await prober;
    assert.ok(probes >= 3, `only ${probes} probes ran`);
    assert.equal(leaks, 0, `${leaks} of ${probes} connections got through during the restart`);
    const list = await g.cliJson<Decision[]>(['decisions', 'list', '--value', phish.ipv4]);
    assert.equal(list.length, 1, 'decisions survived the restart');
  });

  test('monitor mode reports what would be blocked without blocking', async () => {
    customized = true;
    await g.stopDaemon();
    await g.writeConfig({ firewall: { outbound: 'monitor' } });
    await g.startDaemon();
    const phish = g.topo.sites.phishing;
    assert.equal((await g.cli(['decisions', 'add', phish.ipv4, '--reason', 'fake amazon login page'])).code, 0);
    const r = await httpGetFrom(c1, `http://${phish.ipv4}:${phish.httpPort}/`, 3000);
    assert.equal(r.outcome, 'response', 'monitor mode lets the connection through');
    const ev = await waitForBlock(g, (b) => b.remoteIp === phish.ipv4 && b.mode === 'monitored');
    assert.equal(ev.clientIp, g.topo.clients[0].ipv4);
    const text = await g.cli(['blocks', '--direction', 'outbound']);
    assert.match(text.stdout, /would block/);
  });

  test('an unknown interface or a broken config stops the start with a clear message', async () => {
    assert.equal((await g.cli(['decisions', 'add', g.topo.sites.phishing.ipv4])).code, 0);
    customized = true;
    await g.stopDaemon();
    const broken = join(g.dir, 'broken.yaml');
    await writeFile(broken, 'interfaces:\n  lan: [eth9\n  wan: [x]\n');
    const chk = await g.cli(['config', 'check', broken]);
    assert.notEqual(chk.code, 0);
    assert.match(chk.stderr, /broken\.yaml:\d+:\d+/);

    await g.writeConfig({ interfaces: { wan: ['nosuch0'] } });
    await assert.rejects(g.startDaemon(), /interfaces\.wan: no network interface named "nosuch0"/);
    // The kernel table from before is still there, still blocking.
    const set = await g.nft(['-j', 'list', 'set', 'inet', 'gatehouse', 'both_ip4']);
    assert.ok(set.includes(g.topo.sites.phishing.ipv4));
  });
});
