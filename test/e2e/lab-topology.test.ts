import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { labUp, labDown, labStatus, type Lab } from '../../src/lab/lab.js';
import { connectFrom, httpGetFrom, udpSendFrom, closeProbes } from '../../src/lab/probe.js';
import { ipIn, isAlive, listNetns, run, pidsInNetns } from '../../src/lab/ns.js';
import { interfacesByNamespace, siteUrl, labTopology, feedUrl, allInterfaceNames } from '../../src/lab/topology.js';
import { bannerText } from '../../src/lab/server-spec.js';
import { SITE_MARKER } from '../../src/lab/pages.js';
import { labNames } from '../../src/lab/zone.js';
import { existsSync } from 'node:fs';
import { parseTarget } from '../../src/net/ip.js';

const isRoot = process.getuid?.() === 0;
// Own prefix per run, so this file never collides with the demo lab (`gh`) or another test's lab.
const prefix = `t${(process.pid % 36 ** 5).toString(36)}`;
const topo = labTopology(prefix);
const { c1, c2, gw, inet } = topo.namespaces;

interface RouteJson { dst?: string; gateway?: string; dev?: string; type?: string }

async function routes(ns: string | undefined, family: 4 | 6): Promise<RouteJson[]> {
  const args = [`-${family}`, '-j', 'route', 'show'];
  const { stdout } = ns === undefined ? await run('ip', args) : await ipIn(ns, args);
  return JSON.parse(stdout || '[]') as RouteJson[];
}

/** The host's links and routes, to prove the lab never touched them. */
async function hostSnapshot(): Promise<{ links: string[]; routes: string[] }> {
  const { stdout } = await run('ip', ['-j', 'link', 'show']);
  const links = (JSON.parse(stdout) as Array<{ ifname: string }>).map((l) => l.ifname);
  const r = [...(await routes(undefined, 4)), ...(await routes(undefined, 6))]
    .map((x) => `${x.type ?? ''} ${x.dst} ${x.gateway ?? ''} ${x.dev ?? ''}`);
  return { links, routes: r };
}

/**
 * Other suites may run beside this one and change the host for their own reasons, so compare only what the
 * lab could have caused: a new host link with a lab interface name, or a new host route into lab space.
 */
async function assertHostUntouched(before: { links: string[]; routes: string[] }): Promise<void> {
  const now = await hostSnapshot();
  const ours = new Set(allInterfaceNames(topo));
  assert.deepEqual(now.links.filter((l) => !before.links.includes(l) && ours.has(l)), [], 'lab links in the host namespace');
  const labRoute = (r: string) => { const dst = r.split(' ')[1] ?? ''; return dst !== 'default' && tryInLab(dst); };
  assert.deepEqual(now.routes.filter((r) => !before.routes.includes(r) && labRoute(r)), [], 'lab routes in the host namespace');
}

function tryInLab(dst: string): boolean {
  try {
    return inLab(dst);
  } catch {
    return false;
  }
}

function inLab(dst: string): boolean {
  const t = parseTarget(dst);
  return topo.labPrefixes.some((p) => {
    const l = parseTarget(p);
    return l.family === t.family && Buffer.compare(l.start, t.start) <= 0 && Buffer.compare(t.end, l.end) <= 0;
  });
}

describe('lab topology', { skip: isRoot ? false : 'needs root: the lab creates network namespaces (run the e2e suite as root)' }, () => {
  let lab: Lab;
  let hostBefore: { links: string[]; routes: string[] };

  before(async () => {
    hostBefore = await hostSnapshot();
    lab = await labUp({ prefix });
  });

  after(async () => {
    await closeProbes();
    await labDown(prefix, { removeStateDir: true });
    await labDown(`u${prefix.slice(1)}`, { removeStateDir: true });
  });

  it('reports every namespace, the addresses and running servers', async () => {
    const st = await labStatus(prefix);
    assert.equal(st.up, true);
    assert.deepEqual(st.namespaces.map((n) => n.name), [gw, c1, c2, inet]);
    const addrs = (ns: string) => st.namespaces.find((n) => n.name === ns)?.addresses.map((a) => a.address) ?? [];
    assert.deepEqual(addrs(c1).sort(), ['10.77.0.10/24', 'fd77::10/64']);
    assert.ok(addrs(gw).includes('192.0.2.2/24') && addrs(gw).includes('10.77.0.1/24'));
    assert.deepEqual(st.servers.map((s) => [s.name, s.running, s.ready]), [['inet-servers', true, true], ['c1-banner', true, true], ['inet-dns', true, true]]);
  });

  it('client1 reaches the legit and the phishing site over IPv4 through the gateway NAT', async () => {
    const who = await httpGetFrom(c1, siteUrl(topo.sites.legit, 4, '/whoami'));
    assert.equal(who.outcome, 'response', who.message);
    const body = JSON.parse(who.body ?? '{}') as { site: string; remoteAddress: string };
    assert.equal(body.site, 'legit');
    assert.equal(body.remoteAddress, topo.gateway.wanIpv4, 'the internet sees the gateway, not the client');

    const phish = await httpGetFrom(c1, siteUrl(topo.sites.phishing, 4));
    assert.equal(phish.status, 200);
    assert.match(phish.body ?? '', /Amazon Sign-In/);
    assert.ok(phish.body?.includes(SITE_MARKER.phishing));
    assert.equal(phish.headers?.['x-lab-site'], 'phishing');
  });

  it('client1 reaches both sites over IPv6, routed with its own address', async () => {
    for (const site of ['legit', 'phishing'] as const) {
      const r = await httpGetFrom(c1, siteUrl(topo.sites[site], 6, '/whoami'));
      assert.equal(r.outcome, 'response', r.message);
      const body = JSON.parse(r.body ?? '{}') as { site: string; remoteAddress: string };
      assert.deepEqual([body.site, body.remoteAddress], [site, topo.clients[0].ipv6]);
    }
  });

  it('client2 is a separate device: own namespace, own MAC seen by the gateway', async () => {
    const r = await httpGetFrom(c2, siteUrl(topo.sites.legit, 4));
    assert.ok(r.body?.includes(SITE_MARKER.legit));
    const { stdout } = await ipIn(gw, ['-j', 'neigh', 'show', 'dev', topo.gateway.lanBridge]);
    const neigh = JSON.parse(stdout) as Array<{ dst: string; lladdr?: string }>;
    const mac = (ip: string) => neigh.find((n) => n.dst === ip)?.lladdr;
    assert.equal(mac(topo.clients[1].ipv4), topo.clients[1].mac);
    assert.equal(mac(topo.clients[0].ipv4), topo.clients[0].mac);
    assert.notEqual(topo.clients[0].mac, topo.clients[1].mac);
  });

  it('the internet reaches client1\'s banner through the port-forward (v4) and directly (v6)', async () => {
    const pf = await connectFrom(inet, { host: topo.portForward.wanAddress, port: topo.portForward.wanPort, sourceAddress: topo.attacker.ipv4 });
    assert.equal(pf.outcome, 'connected', pf.message);
    assert.equal(pf.banner, bannerText(topo, 'c1'));
    const v6 = await connectFrom(inet, { host: topo.clients[0].ipv6, port: 22, sourceAddress: topo.attacker.ipv6 });
    assert.equal(v6.outcome, 'connected', v6.message);
    assert.equal(v6.banner, bannerText(topo, 'c1'));
    // The client's server sees the real attacker address (DNAT only), which is what inbound blocking keys on.
    const log = await readFile(lab.servers.find((s) => s.name === 'c1-banner')!.logFile, 'utf8');
    assert.match(log, /"remote":"198\.51\.100\.77"/);
    // Without the forward, the private LAN is invisible from the internet.
    const direct = await connectFrom(inet, { host: topo.clients[0].ipv4, port: 22, timeoutMs: 1000 });
    assert.equal(direct.outcome, 'unreachable');
  });

  it('UDP echo answers, a closed UDP port is refused, and a closed TCP port is refused', async () => {
    const echo = await udpSendFrom(c1, { host: topo.sites.legit.ipv4, port: topo.ports.udpEcho, payload: 'ping-lab' });
    assert.deepEqual([echo.outcome, echo.reply], ['reply', 'ping-lab']);
    const closedUdp = await udpSendFrom(c1, { host: topo.sites.legit.ipv4, port: 9 });
    assert.equal(closedUdp.outcome, 'refused');
    const closedTcp = await connectFrom(c1, { host: topo.sites.legit.ipv4, port: 81 });
    assert.deepEqual([closedTcp.outcome, closedTcp.code], ['refused', 'ECONNREFUSED']);
  });

  it('serves feed files from the feeds folder to the gateway, with conditional GET', async () => {
    await writeFile(`${lab.feedsDir}/lab-test.txt`, '203.0.113.66\n');
    const url = feedUrl(topo, 'lab-test.txt');
    const r = await httpGetFrom(gw, url);
    assert.deepEqual([r.status, r.body], [200, '203.0.113.66\n']);
    const again = await httpGetFrom(gw, url, 3000, { headers: { 'if-none-match': r.headers?.etag ?? '' } });
    assert.equal(again.status, 304);
    const escape = await httpGetFrom(gw, siteUrl(topo.sites.legit, 4, '/feeds/..%2F..%2Fetc%2Fpasswd'));
    assert.equal(escape.status, 404);
  });

  it('has no route to anything outside the lab, and left the host untouched', async () => {
    const expected = interfacesByNamespace(topo);
    for (const ns of topo.namespaces.all) {
      const { stdout } = await ipIn(ns, ['-j', 'link', 'show']);
      const links = (JSON.parse(stdout) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
      assert.deepEqual(links, ['lo', ...(expected[ns] ?? [])].sort(), `interfaces in ${ns}`);
      for (const family of [4, 6] as const) {
        for (const r of await routes(ns, family)) {
          if (r.dst === 'default') {
            // Only clients and the gateway have one, and it points at a lab router.
            assert.ok([topo.gateway.lanIpv4, topo.gateway.lanIpv6, topo.inet.routerIpv4, topo.inet.routerIpv6].includes(r.gateway ?? ''), `${ns}: ${JSON.stringify(r)}`);
            assert.notEqual(ns, inet, 'the lab internet has no default route');
          } else {
            assert.ok(r.dst !== undefined && inLab(r.dst), `${ns}: route outside the lab ${JSON.stringify(r)}`);
          }
        }
      }
    }
    await assert.rejects(ipIn(inet, ['route', 'get', '8.8.8.8']), /unreachable/i);
    await assert.rejects(ipIn(inet, ['-6', 'route', 'get', '2001:4860:4860::8888']), /unreachable/i);
    await assertHostUntouched(hostBefore);
  });

  it('up twice gives a working fresh lab and stops the old servers', async () => {
    const oldPids = lab.servers.map((s) => s.pid);
    lab = await labUp({ prefix });
    assert.ok(oldPids.every((p) => !isAlive(p)), 'old servers stopped');
    const r = await connectFrom(inet, { host: topo.portForward.wanAddress, port: topo.portForward.wanPort });
    assert.equal(r.outcome, 'connected', r.message);
    const h = await httpGetFrom(c1, siteUrl(topo.sites.legit, 6));
    assert.ok(h.body?.includes(SITE_MARKER.legit));
  });

  it('a failed up removes its partial lab and says why', async () => {
    const other = `u${prefix.slice(1)}`;
    await assert.rejects(labUp({ prefix: other, serversScript: '/nonexistent/servers.js' }), /lab script not found/);
    assert.deepEqual((await listNetns()).filter((n) => n.startsWith(`${other}-`)), []);
  });

  it('the internet serves the lab zone (NSD), a client can ask it, and ip netns exec gives clients the gateway as resolver', async () => {
    const names = labNames(topo);
    for (const server of [topo.dns.authoritative.ipv4, topo.dns.publicResolver.ipv6]) {
      const { stdout } = await run('nsenter', [`--net=/run/netns/${c1}`, 'dig', '+short', '+tries=1', '+time=3', `@${server}`, names.phishing, 'A']);
      assert.equal(stdout.trim(), topo.sites.phishing.ipv4, `asked ${server}`);
    }
    const cname = await run('nsenter', [`--net=/run/netns/${c2}`, 'dig', '+short', '+tries=1', '+time=3', `@${topo.dns.authoritative.ipv6}`, names.cloaked, 'AAAA']);
    assert.deepEqual(cname.stdout.trim().split('\n'), [`${names.adName}.`, topo.sites.ads.ipv6]);
    const seen = await run('ip', ['netns', 'exec', c1, 'cat', '/etc/resolv.conf']);
    assert.match(seen.stdout, new RegExp(`^nameserver ${topo.gateway.lanIpv4.replace(/\./g, '\\.')}$`, 'm'));
  });

  it('down removes every namespace and every process it started or that ran inside', async () => {
    const pids = [...lab.servers.map((s) => s.pid)];
    for (const ns of topo.namespaces.all) pids.push(...(await pidsInNetns(ns)));
    assert.ok(pids.length >= 4, 'servers and probe agents were running');
    await labDown(prefix);
    const left = (await listNetns()).filter((n) => n.startsWith(`${prefix}-`));
    assert.deepEqual(left, []);
    assert.deepEqual(pids.filter(isAlive), []);
    const st = await labStatus(prefix);
    assert.equal(st.up, false);
    assert.ok(st.namespaces.every((n) => !n.exists));
    assert.equal(existsSync(`/etc/netns/${c1}`), false, 'the clients\' resolv.conf went with the lab');
    await assertHostUntouched(hostBefore);
    // Down on a lab that is already gone is fine (after() runs it again).
    await labDown(prefix);
  });
});
