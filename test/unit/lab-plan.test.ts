// The lab's pure parts and its servers/probes on loopback. Needs no root (lives next to the lab e2e test
// because test/e2e/lab-* is the lab's folder).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { buildPlan, natRuleset } from '../../src/lab/plan.js';
import { labTopology, allInterfaceNames, MAX_IFNAME, InvalidLabPrefixError, feedUrl, siteUrl } from '../../src/lab/topology.js';
import { classifyErrno } from '../../src/lab/outcome.js';
import { startListeners, type RunningServers } from '../../src/lab/servers.js';
import { probeConnect, probeHttp, probeUdp } from '../../src/lab/connect.js';
import { nodeScriptLaunch } from '../../src/lab/launch.js';
import { labServers } from '../../src/lab/server-spec.js';
import { SITE_MARKER, legitPage } from '../../src/lab/pages.js';

describe('lab topology and plan (pure)', () => {
  it('accepts short lower-case prefixes and rejects anything else', () => {
    for (const ok of ['gh', 't1', 'abcdef', 'z']) assert.equal(labTopology(ok).prefix, ok);
    for (const bad of ['', 'GH', '1a', 'abcdefg', 'a-b', 'a b', '../x', 'gh\n']) {
      assert.throws(() => labTopology(bad), InvalidLabPrefixError, bad);
    }
  });

  it('keeps every interface name within IFNAMSIZ and namespaces distinct per prefix', () => {
    const t = labTopology('abcdef');
    for (const n of allInterfaceNames(t)) assert.ok(n.length <= MAX_IFNAME, n);
    const other = labTopology('t1');
    assert.equal(new Set([...t.namespaces.all, ...other.namespaces.all]).size, 8);
    assert.notEqual(t.natTable.name, other.natTable.name);
  });

  it('scopes every command to a lab namespace: nothing touches the host', () => {
    const t = labTopology('t1');
    const labNs = new Set(t.namespaces.all);
    const steps = buildPlan(t);
    assert.ok(steps.length > 20);
    for (const { argv } of steps) {
      const [cmd, a1, a2, a3] = argv;
      if (cmd === 'ip' && a1 === 'netns') {
        assert.ok(a2 === 'add' && labNs.has(a3 ?? ''), argv.join(' '));
      } else if (cmd === 'ip') {
        assert.ok(a1 === '-n' && labNs.has(a2 ?? ''), `ip without a lab namespace: ${argv.join(' ')}`);
        // A veth peer may only be moved into another lab namespace.
        const i = argv.indexOf('netns');
        if (i >= 0) assert.ok(labNs.has(argv[i + 1] ?? ''), argv.join(' '));
      } else {
        assert.equal(cmd, 'nsenter', argv.join(' '));
        assert.ok(labNs.has((a1 ?? '').replace('--net=/run/netns/', '')), argv.join(' '));
      }
    }
    // Only the gateway (and the lab's own internet router) forward packets.
    const forwarding = steps.filter((s) => s.argv.includes('net.ipv4.ip_forward=1')).map((s) => s.argv[1]);
    assert.deepEqual(forwarding, [`--net=/run/netns/${t.namespaces.gw}`, `--net=/run/netns/${t.namespaces.inet}`]);
  });

  it('renders NAT and the port-forward into the lab\'s own table only', () => {
    const t = labTopology('t1');
    const rules = natRuleset(t);
    const tables = [...rules.matchAll(/table (\S+) (\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
    assert.ok(tables.length >= 1 && tables.every((x) => x === 'inet t1lab_nat'), tables.join());
    assert.match(rules, /dnat ip to 10\.77\.0\.10:22/);
    assert.match(rules, /oifname "wan0" ip saddr 10\.77\.0\.0\/24 masquerade/);
    assert.doesNotMatch(rules, /flush ruleset/);
  });

  it('builds URLs with brackets for IPv6 and only legit serves feeds', () => {
    const t = labTopology('gh');
    assert.equal(siteUrl(t.sites.phishing, 6, '/x'), 'http://[2001:db8:66::66]/x');
    assert.equal(feedUrl(t, 'a b.txt'), 'http://198.51.100.10/feeds/a%20b.txt');
    const [inetSrv] = labServers(t, { stateDir: '/s', feedsDir: '/f' });
    const feedHosts = inetSrv!.spec.listeners.filter((l) => l.kind === 'http' && l.feedsDir === '/f').map((l) => l.host);
    assert.deepEqual(feedHosts, [t.sites.legit.ipv4, t.sites.legit.ipv6]);
  });

  it('puts every server address of the internet (sites, attacker, DNS) on its server interface, and labPrefixes covers them', () => {
    const t = labTopology('gh');
    const added = buildPlan(t).map((s) => s.argv.join(' ')).filter((a) => a.startsWith(`ip -n ${t.namespaces.inet} `) && a.includes(' addr add ') && a.includes(` dev ${t.inet.serverInterface}`));
    const want = [t.sites.ads, t.dns.authoritative, t.dns.publicResolver, t.sites.legit, t.sites.phishing, t.attacker].flatMap((p) => [p.ipv4, p.ipv6]);
    for (const a of want) {
      assert.ok(added.some((x) => x.includes(` ${a}/`)), `${a} is added: ${added.join('\n')}`);
      assert.ok(t.labPrefixes.includes(a), `${a} in labPrefixes`);
    }
  });

  it('maps kernel errors to what the user sees', () => {
    assert.equal(classifyErrno('ECONNREFUSED'), 'refused');
    assert.equal(classifyErrno('ECONNRESET'), 'reset');
    for (const c of ['EHOSTUNREACH', 'ENETUNREACH', 'EACCES', 'EPERM']) assert.equal(classifyErrno(c), 'unreachable', c);
    assert.equal(classifyErrno('ETIMEDOUT'), 'timeout');
    assert.equal(classifyErrno('EADDRNOTAVAIL'), 'error');
    assert.equal(classifyErrno(undefined), 'error');
  });
});

describe('lab servers and probes on loopback', () => {
  let dir: string;
  let servers: RunningServers;
  const logs: Array<Record<string, unknown>> = [];
  const port = (kind: string) => servers.bound.find((b) => b.kind === kind)!.port;

  before(async () => {
    dir = await mkdtemp(`${tmpdir()}/lab-feeds-`);
    await writeFile(`${dir}/drop.txt`, '192.0.2.0/24\n');
    await utimes(`${dir}/drop.txt`, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
    servers = await startListeners({
      lab: 'lt', name: 'loop', readyFile: `${dir}/.ready`,
      listeners: [
        { kind: 'http', site: 'legit', host: '127.0.0.1', port: 0, feedsDir: dir },
        { kind: 'banner', host: '127.0.0.1', port: 0, text: 'SSH-2.0-Loop' },
        { kind: 'udp-echo', host: '127.0.0.1', port: 0 },
      ],
    }, (e) => logs.push(e));
  });

  after(async () => {
    await servers?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the page, a feed file, and 304 for If-Modified-Since', async () => {
    const base = `http://127.0.0.1:${port('http')}`;
    const page = await probeHttp({ url: `${base}/`, timeoutMs: 2000 });
    assert.ok(page.body?.includes(SITE_MARKER.legit));
    const feed = await probeHttp({ url: `${base}/feeds/drop.txt`, timeoutMs: 2000 });
    assert.deepEqual([feed.status, feed.body], [200, '192.0.2.0/24\n']);
    const cond = await probeHttp({ url: `${base}/feeds/drop.txt`, timeoutMs: 2000, headers: { 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' } });
    assert.equal(cond.status, 304);
    const listing = await probeHttp({ url: `${base}/feeds/`, timeoutMs: 2000 });
    assert.equal(listing.body, 'drop.txt\n');
    assert.ok(logs.some((l) => l['path'] === '/feeds/drop.txt' && l['status'] === 200));
  });

  it('never serves anything outside the feeds folder (randomised paths)', async () => {
    const base = `http://127.0.0.1:${port('http')}/feeds/`;
    const pieces = ['..', '%2e%2e', '%2F', '/', 'etc', 'passwd', '.ready', 'drop.txt', '%00', '\\', '~', '.'];
    for (let i = 0; i < 150; i++) {
      const n = 1 + Math.floor(Math.random() * 4);
      const path = Array.from({ length: n }, () => pieces[Math.floor(Math.random() * pieces.length)]).join('');
      const r = await probeHttp({ url: base + path, timeoutMs: 2000 });
      if (r.outcome !== 'response') continue; // a URL the client itself refuses to send
      // `/feeds/..` normalises to `/` (the site's own page); anything else with 200 must be the feed or the listing.
      const allowed = ['192.0.2.0/24\n', 'drop.txt\n', legitPage()];
      if (r.status === 200) assert.ok(allowed.includes(r.body ?? ''), `${path} leaked ${r.body}`);
    }
    const still = await probeHttp({ url: `${base}drop.txt`, timeoutMs: 2000 });
    assert.equal(still.status, 200, 'server survived');
  });

  it('probes report connected+banner, refused, and UDP reply/refused', async () => {
    const c = await probeConnect({ host: '127.0.0.1', port: port('banner'), timeoutMs: 2000 });
    assert.deepEqual([c.outcome, c.banner], ['connected', 'SSH-2.0-Loop']);
    const closed = await probeConnect({ host: '127.0.0.1', port: 1, timeoutMs: 2000 });
    assert.equal(closed.outcome, 'refused');
    const u = await probeUdp({ host: '127.0.0.1', port: port('udp-echo'), payload: 'x1', timeoutMs: 1000 });
    assert.deepEqual([u.outcome, u.reply], ['reply', 'x1']);
    const uClosed = await probeUdp({ host: '127.0.0.1', port: 9, timeoutMs: 1000 });
    assert.equal(uClosed.outcome, 'refused');
    const t = await probeConnect({ host: '127.0.0.1', port: port('http'), timeoutMs: 2000, bannerWaitMs: 50 });
    assert.deepEqual([t.outcome, t.banner], ['connected', undefined], 'HTTP server says nothing first');
  });

  it('the probe script runs standalone (--once)', async () => {
    const l = nodeScriptLaunch('connect');
    const out = await new Promise<string>((resolve, reject) => {
      execFile(l.command, [...l.args, '--once', JSON.stringify({ op: 'connect', req: { host: '127.0.0.1', port: port('banner'), timeoutMs: 2000 } })],
        { cwd: l.cwd }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)));
    });
    assert.equal((JSON.parse(out) as { banner: string }).banner, 'SSH-2.0-Loop');
  });
});
