/**
 * Issue #10, Done means, in namespaces with real sockets: LAN clients resolve through Gatehouse running in
 * the lab's gateway, which forwards to the lab internet's authoritative server (NSD) for the zone `example.`
 * (src/lab/zone.ts). Lists are served over HTTP by the lab's web server, as a real list would be.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectFrom, httpGetFrom } from '../../src/lab/probe.js';
import { nsExec } from '../../src/lab/ns.js';
import { labDnsDown, labDnsUp } from '../../src/lab/lab.js';
import { feedUrl, labTopology } from '../../src/lab/topology.js';
import { BAD_RANGE_MEMBER, labNames } from '../../src/lab/zone.js';
import { SITE_MARKER } from '../../src/lab/pages.js';
import { bannerText } from '../../src/lab/server-spec.js';
import type { BlockEvent } from '../../src/store/block-events.js';
import { labDnsConfig } from '../../src/lab/gateway-runner.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { digIn, show } from './helpers/dig.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(200);
  }
}

const PREFIX = 'l7';
const ADS_LIST = '# lab ad list (domains format: each name and everything below it)\nadnet.example\ntracker.example\n';

describe('DNS filter in the lab: LAN clients resolving through Gatehouse', { skip: skipReason, timeout: 300_000 }, () => {
  let g: GatewayLab;
  let c1: string;
  let c2: string;
  let gw4: string;
  let gw6: string;
  const n = labNames(labTopology(PREFIX));

  before(async () => {
    g = await GatewayLab.start(PREFIX);
    const topo = g.topo;
    c1 = topo.namespaces.c1;
    c2 = topo.namespaces.c2;
    gw4 = topo.gateway.lanIpv4;
    gw6 = topo.gateway.lanIpv6;
    await writeFile(join(g.lab.feedsDir, 'ads.txt'), ADS_LIST);
    const allowFile = join(g.dir, 'allow.txt');
    await writeFile(allowFile, 'ok.adnet.example\n');
    await g.writeConfig({
      dns: {
        ...labDnsConfig(topo),
        strategy: 'strict',
        upstream_timeout: '1s',
        blocklists: [{ name: 'ads', type: 'url', url: feedUrl(topo, 'ads.txt'), format: 'domains', category: 'ads', refresh: '2s' }],
        allowlists: [{ name: 'exceptions', type: 'file', path: allowFile, format: 'domains' }],
        // The opt-out group: no ad list; the answer check (security) applies to every group.
        groups: [{ name: 'optout', clients: [topo.clients[1].ipv4, topo.clients[1].ipv6], blocklists: [] }],
        redirect_lan: true,
        workers: 2,
      },
    });
    await g.startDaemon(40_000);
    await until('the ad list is loaded', async () => ((await digIn(c1, gw4, n.adName)).status === 'NXDOMAIN' ? true : undefined), 30_000);
  });
  after(async () => {
    if (g) await g.close();
  });

  test('a listed ad name is blocked, its subdomain too, an allowed exception is not — UDP and TCP, IPv4 and IPv6', async () => {
    for (const extra of [[], ['+tcp']]) {
      for (const server of [gw4, gw6]) {
        const ad = await digIn(c1, server, n.adDomain, 'A', extra);
        assert.equal(ad.status, 'NXDOMAIN', `${n.adDomain} via ${server} ${extra.join(' ')}: ${show(ad)}`);
        assert.match(ad.ede ?? '', /ads/, 'the EDE text names the list');
        const sub = await digIn(c1, server, `deep.${n.adName}`, 'AAAA', extra);
        assert.equal(sub.status, 'NXDOMAIN', show(sub));
        const ok = await digIn(c1, server, 'ok.adnet.example', 'A', extra);
        assert.deepEqual([ok.status, ok.answers], ['NOERROR', [g.topo.sites.ads.ipv4]], `the exception resolves: ${show(ok)}`);
        const shop = await digIn(c1, server, n.legit, 'AAAA', extra);
        assert.deepEqual([shop.status, shop.answers], ['NOERROR', [g.topo.sites.legit.ipv6]], show(shop));
      }
    }
    const tracker = await digIn(c1, gw4, n.trackerName);
    assert.equal(tracker.status, 'NXDOMAIN', show(tracker));
  });

  test('browsers are told not to switch to their own DNS-over-HTTPS (use-application-dns.net is NXDOMAIN)', async () => {
    const canary = await digIn(c1, gw4, 'use-application-dns.net');
    assert.equal(canary.status, 'NXDOMAIN', show(canary));
    const redirected = await digIn(c2, g.topo.dns.publicResolver.ipv4, 'use-application-dns.net', 'A', ['+tcp']);
    assert.equal(redirected.status, 'NXDOMAIN', `also when asked of a hard-coded resolver: ${show(redirected)}`);
  });

  test('CNAME cloaking: a first-party name that is an alias of an ad server is blocked; an ordinary alias is not', async () => {
    const cloaked = await digIn(c1, gw4, n.cloaked);
    assert.equal(cloaked.status, 'NXDOMAIN', show(cloaked));
    assert.match(cloaked.ede ?? '', /CNAME/i);
    const alias = await digIn(c1, gw4, n.legitAlias);
    assert.equal(alias.status, 'NOERROR');
    assert.ok(alias.answers.includes(g.topo.sites.legit.ipv4), show(alias));
  });

  test('a truncated answer makes the client retry over TCP, and it gets the whole answer', async () => {
    const big = await digIn(c1, gw4, n.bigTxt, 'TXT');
    assert.ok(big.retriedTcp, `dig retried over TCP:\n${big.raw}`);
    assert.equal(big.status, 'NOERROR');
    assert.equal(big.txt.length, 1);
    assert.equal((big.txt[0]!.match(/"/g) ?? []).length, 24, 'all 12 strings of the record arrived');
    // Fits a 1232-byte EDNS answer but not plain 512-byte DNS: truncated only for a client without EDNS.
    const midEdns = await digIn(c1, gw4, n.midTxt, 'TXT');
    assert.equal(midEdns.retriedTcp, false, midEdns.raw);
    const midPlain = await digIn(c1, gw4, n.midTxt, 'TXT', ['+noedns']);
    assert.ok(midPlain.retriedTcp, midPlain.raw);
    assert.equal(midPlain.status, 'NOERROR');
    assert.equal(midPlain.txt.join(''), midEdns.txt.join(''));
    // Knot's kdig falls back to TCP on its own as well (no +tcp given).
    const k = await nsExec(c1, 'kdig', [`@${gw4}`, n.bigTxt, 'TXT', '+timeout=5', '+retry=0'], { timeoutMs: 30_000 });
    assert.match(k.stdout, /status: NOERROR/);
    assert.match(k.stdout, /TCP/, `kdig's answer came over TCP:\n${k.stdout}`);
    assert.equal((k.stdout.match(/big11-/g) ?? []).length, 1, 'the last string of the record arrived');
  });

  test('the block report names the domain the client looked up before it connected to a listed server', async () => {
    const phish = g.topo.sites.phishing;
    const before = await digIn(c1, gw4, n.phishing);
    assert.deepEqual([before.status, before.answers], ['NOERROR', [phish.ipv4]], show(before));
    const add = await g.cli(['decisions', 'add', phish.ipv4, '--reason', 'fake amazon login', '--duration', '1h']);
    assert.equal(add.code, 0, add.stderr);
    // The browser already has the address: the connection is what the firewall stops.
    const r = await connectFrom(c1, { host: phish.ipv4, port: phish.httpPort, timeoutMs: 5000, bannerWaitMs: 0 });
    assert.notEqual(r.outcome, 'connected');
    const ev = await until('a block event with the domain', async () => {
      const blocks = await g.cliJson<BlockEvent[]>(['blocks', '--direction', 'outbound']);
      return blocks.find((b) => b.remoteIp === phish.ipv4 && b.clientIp === g.topo.clients[0].ipv4 && b.domain);
    });
    assert.equal(ev.domain, n.phishing);
    assert.equal(ev.clientName, 'alice-laptop');
    const text = await g.cli(['blocks']);
    assert.match(text.stdout, /amazon-signin\.example/);
    // From now on the name itself answers as blocked (answer check), naming the decision.
    const after = await digIn(c1, gw4, n.phishing);
    assert.equal(after.status, 'NXDOMAIN', show(after));
    assert.match(after.ede ?? '', /203\.0\.113\.66/);
    assert.match(after.ede ?? '', /manual/);
  });

  test('the opt-out client gets ads, but not the phishing site', async () => {
    const phish = g.topo.sites.phishing;
    assert.equal((await g.cli(['decisions', 'add', phish.ipv4, '--reason', 'fake amazon login', '--duration', '1h'])).code, 0);
    const ad = await digIn(c2, gw4, n.adName);
    assert.deepEqual([ad.status, ad.answers], ['NOERROR', [g.topo.sites.ads.ipv4]], show(ad));
    const page = await httpGetFrom(c2, `http://${ad.answers[0]}/`, 3000);
    assert.ok(page.body?.includes(SITE_MARKER.ads), 'bob-phone sees the ad');
    const ad6 = await digIn(c2, gw6, n.trackerName, 'AAAA');
    assert.deepEqual([ad6.status, ad6.answers], ['NOERROR', [g.topo.sites.ads.ipv6]], show(ad6));
    const ph = await digIn(c2, gw4, n.phishing);
    assert.equal(ph.status, 'NXDOMAIN', `opt-out keeps the security check: ${show(ph)}`);
    // …and the default group still blocks the same ad name.
    assert.equal((await digIn(c1, gw4, n.adName)).status, 'NXDOMAIN');
  });

  test('a name whose answer lies in a listed range is blocked, and the answer says which decision', async () => {
    const pre = await digIn(c1, gw4, n.badRangeName);
    assert.deepEqual([pre.status, pre.answers], ['NOERROR', [BAD_RANGE_MEMBER.ipv4]], show(pre));
    assert.equal((await g.cli(['decisions', 'add', n.badRange.ipv4, '--reason', 'bad hoster', '--duration', '1h'])).code, 0);
    assert.equal((await g.cli(['decisions', 'add', n.badRange.ipv6, '--reason', 'bad hoster', '--duration', '1h'])).code, 0);
    const v4 = await until('the range reaches the resolvers', async () => {
      const r = await digIn(c1, gw4, n.badRangeName);
      return r.status === 'NXDOMAIN' ? r : undefined;
    });
    assert.match(v4.ede ?? '', /203\.0\.113\.64\/26/);
    // Each decision reaches the workers on its own (a delta per change): wait for the v6 one as well.
    const v6 = await until('the v6 range reaches the resolvers', async () => {
      const r = await digIn(c1, gw6, n.badRangeName, 'AAAA', ['+tcp']);
      return r.status === 'NXDOMAIN' ? r : undefined;
    });
    assert.match(v6.ede ?? '', /2001:db8:66::\/48/);
  });

  test('redirect_lan: a client asking a hard-coded outside resolver gets Gatehouse’s filtered answer', async () => {
    const pub = g.topo.dns.publicResolver;
    for (const extra of [[], ['+tcp']]) {
      const ad = await digIn(c1, pub.ipv4, n.adDomain, 'A', extra);
      assert.equal(ad.status, 'NXDOMAIN', `via ${pub.ipv4} ${extra.join(' ')}: ${show(ad)}`);
      assert.match(ad.ede ?? '', /ads/, 'answered by Gatehouse, not by the outside server');
      const ad6 = await digIn(c1, pub.ipv6, n.adDomain, 'AAAA', extra);
      assert.equal(ad6.status, 'NXDOMAIN', `via ${pub.ipv6} ${extra.join(' ')}: ${show(ad6)}`);
      const shop = await digIn(c1, pub.ipv4, n.legit, 'A', extra);
      assert.deepEqual([shop.status, shop.answers], ['NOERROR', [g.topo.sites.legit.ipv4]]);
    }
    // The outside server itself would have answered: asked from the internet side it does.
    const direct = await digIn(g.topo.namespaces.inet, pub.ipv4, n.adDomain);
    assert.deepEqual(direct.answers, [g.topo.sites.ads.ipv4]);
    const nat = await g.nft(['list', 'chain', 'inet', 'gatehouse', 'nat_prerouting']);
    assert.match(nat, /udp dport 53 redirect to :53/);
  });

  test('redirect_lan: DNS over TLS (853) from the LAN to outside is refused at once; the internet side still reaches it', async () => {
    const pub = g.topo.dns.publicResolver;
    for (const [host, family] of [[pub.ipv4, 4], [pub.ipv6, 6]] as const) {
      const r = await connectFrom(c1, { host, port: g.topo.ports.dot, family, timeoutMs: 3000, bannerWaitMs: 0 });
      assert.equal(r.outcome, 'refused', `${host}:853 from the LAN: ${JSON.stringify(r)}`);
    }
    const inside = await connectFrom(g.topo.namespaces.inet, { host: pub.ipv4, port: g.topo.ports.dot, timeoutMs: 3000 });
    assert.deepEqual([inside.outcome, inside.banner], ['connected', bannerText(g.topo, 'dot')], 'something does listen on 853');
  });

  // (Cached names are not asserted here: each worker has its own cache, and which worker reads a datagram
  // is the kernel's choice.)
  test('upstream down: SERVFAIL quickly instead of a client timeout, and it recovers', async () => {
    await labDnsDown(g.topo.prefix);
    try {
      const fresh = await digIn(c1, gw4, `down-${Date.now()}.${n.freshParent}`, 'A', ['+time=10']);
      assert.equal(fresh.status, 'SERVFAIL', show(fresh));
      // Well before the client's own 10 s timeout (the upstream timeout is 1 s).
      assert.ok(fresh.ms < 5000, `SERVFAIL after ${fresh.ms} ms`);
      const tcp = await digIn(c1, gw4, `down-tcp-${Date.now()}.${n.freshParent}`, 'A', ['+time=10', '+tcp']);
      assert.equal(tcp.status, 'SERVFAIL', show(tcp));
    } finally {
      await labDnsUp(g.topo.prefix);
    }
    const back = await until('answers again once the upstream is back', async () => {
      const r = await digIn(c1, gw4, `up-${Date.now()}.${n.freshParent}`);
      return r.status === 'NOERROR' ? r : undefined;
    }, 30_000);
    assert.deepEqual(back.answers, [g.topo.sites.legit.ipv4]);
  });

  test('a list that turns into an HTML error page keeps its old entries', async () => {
    const file = join(g.lab.feedsDir, 'ads.txt');
    const log = g.lab.servers.find((s) => s.name === 'inet-servers')!.logFile;
    const fetches = async () => (await readFile(log, 'utf8')).split('\n').filter((l) => l.includes('/feeds/ads.txt') && /"status":(200|304)/.test(l)).length;
    await writeFile(file, '<!doctype html><html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1><p>Try again later.</p></body></html>\n');
    const seen = await fetches();
    // Two fetches of the HTML page (refresh every 2 s), so the refusal has surely been decided.
    await until('the HTML page was fetched twice', async () => ((await fetches()) >= seen + 2 ? true : undefined), 20_000);
    const ad = await digIn(c1, gw4, n.adName);
    assert.equal(ad.status, 'NXDOMAIN', `still blocked: ${show(ad)}`);
    assert.equal((await digIn(c1, gw4, `fresh-${Date.now()}.${n.trackerDomain}`)).status, 'NXDOMAIN');
    // …and the admin is told why the list did not change.
    const lists = await g.cliJson<{ name: string; entries: number; lastError: string | null }[]>(['dns', 'lists']);
    const ads = lists.find((l) => l.name === 'ads');
    assert.equal(ads?.entries, 2, JSON.stringify(ads));
    assert.ok(ads?.lastError, `the refused refresh is reported: ${JSON.stringify(ads)}`);
    await writeFile(file, ADS_LIST);
  });
});
