import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PREFIX, labDown, labUp, validatePrefix } from '../../lab/index.js';
import { closeProbes, connectFrom, httpGetFrom } from '../../lab/index.js';
import { LabGateway, labDnsConfig, labGatewayConfig } from '../../lab/index.js';
import { feedUrl, labNames, lookupFrom, describeLookup, run } from '../../lab/index.js';
import type { BlockEvent } from '../../api/index.js';
import { formatBlocks } from './blocks.js';
import { runPortalDemo } from './demo-portal.js';
import { demoShaper } from './demo-shaper.js';

const DEFAULT_DIR = '/run/gatehouse-demo';

const say = (s: string) => console.log(`\n== ${s}`);

/**
 * A small list served by the lab's "internet", loaded as a feed: the demo's block names it as the reason.
 * It starts without the fake Amazon server; the demo "updates" it after a resident has looked the name up.
 */
const DEMO_FEED_START = `# demo phishing/malware list served from the lab internet
203.0.113.0/28
`;
const DEMO_FEED = `${DEMO_FEED_START}203.0.113.66 # fake amazon login page
`;

/** An ad list in domains format (each name and everything below it), also served by the lab internet. */
const DEMO_ADS = `# demo ad/tracker list
adnet.example
tracker.example
`;

/**
 * The newcomer's first run: builds the lab, starts Gatehouse in its gateway, makes a resident click a
 * phishing link and an attacker knock, prints the report, then keeps showing new blocks until Ctrl-C.
 */
export async function runDemo(opts: { once?: boolean; prefix?: string; dir?: string }): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo builds network namespaces and nftables rules: run it as root');
  const PREFIX = validatePrefix(opts.prefix ?? DEFAULT_PREFIX);
  const DEMO_DIR = opts.dir ?? DEFAULT_DIR;
  await rm(DEMO_DIR, { recursive: true, force: true });
  await mkdir(DEMO_DIR, { recursive: true, mode: 0o700 });
  say('building the lab: two LAN clients, a gateway, and a simulated internet (no route to the real one)');
  const lab = await labUp({ prefix: PREFIX });
  const topo = lab.topology;
  await writeFile(join(lab.feedsDir, 'demo-phishing.txt'), DEMO_FEED_START);
  await writeFile(join(lab.feedsDir, 'demo-ads.txt'), DEMO_ADS);
  const lanGw = topo.gateway.lanIpv4;
  const names = labNames(topo);
  const gw = new LabGateway(topo, DEMO_DIR, {
    ...labGatewayConfig(topo, DEMO_DIR),
    feeds: [{ name: 'demo_phishing', type: 'url', url: feedUrl(topo, 'demo-phishing.txt'), format: 'plain', direction: 'outbound', refresh: '10m' }],
    lapi: { listen: `${lanGw}:8081` },
    mirror: { listen: `${lanGw}:41412`, endpoints: [{ path: '/security/blocklist', format: 'plain_text', auth: 'ip_based', trusted_ips: [topo.networks.lan4] }] },
    // The LAN's resolver: the clients' resolv.conf names the gateway (see lab/zone.ts); the lab internet's
    // NSD is the upstream.
    dns: {
      ...labDnsConfig(topo),
      blocklists: [{ name: 'demo_ads', type: 'url', url: feedUrl(topo, 'demo-ads.txt'), format: 'domains', category: 'ads', refresh: '10m' }],
      redirect_lan: true,
    },
  });
  const c1 = topo.namespaces.c1;
  const c2 = topo.namespaces.c2;
  const lookup = async (ns: string, who: string, name: string, type = 'A') => {
    const r = await lookupFrom(ns, name, type);
    console.log(`${who}: dig ${name}${type === 'A' ? '' : ` ${type}`} → ${describeLookup(r)}`);
    return r;
  };
  const phish = topo.sites.phishing;
  const legit = topo.sites.legit;
  let stopping = false;
  const cleanup = async () => {
    if (stopping) return;
    stopping = true;
    say('stopping: daemon, lab namespaces (the gateway table goes with its namespace)');
    await gw.stopDaemon().catch(() => undefined);
    await closeProbes().catch(() => undefined);
    await labDown(PREFIX).catch((e: Error) => console.error(e.message));
  };
  try {
    say('the phishing site is reachable before anything is listed');
    const before = await httpGetFrom(c1, `http://${phish.ipv4}/`, 3000);
    console.log(`alice-laptop → http://${phish.ipv4}/ : ${before.outcome} ${before.status ?? ''}`);

    say('starting Gatehouse in the gateway namespace');
    await gw.startDaemon();
    console.log(`config: ${gw.configFile}\nlog:    ${gw.logFile}`);

    say('the gateway downloads a phishing feed from the (lab) internet');
    for (let i = 0; i < 50; i++) {
      const st = await gw.cli(['feeds', 'list', '--json']);
      if (st.code === 0 && (JSON.parse(st.stdout) as { entries: number }[])[0]?.entries) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log((await must(gw.cli(['feeds', 'list']))).stdout.trim());

    say(`alice-laptop opens the link in a phishing mail: her laptop asks Gatehouse for ${names.phishing}`);
    console.log('(not listed yet: Gatehouse resolves it, and remembers that alice-laptop got this address for this name)');
    await lookup(c1, 'alice-laptop', names.phishing);

    say('minutes later the phishing feed lists the fake Amazon server (gatehouse feeds refresh demo_phishing)');
    await writeFile(join(lab.feedsDir, 'demo-phishing.txt'), DEMO_FEED);
    console.log((await must(gw.cli(['feeds', 'refresh', 'demo_phishing']))).stdout.trim());

    say('loading more reputation data: an attacker banned by hand, and a small list file');
    await must(gw.cli(['decisions', 'add', topo.attacker.ipv4, '--reason', 'SIP/SSH brute force', '--direction', 'inbound', '--duration', '24h']));
    const listFile = join(DEMO_DIR, 'import.txt');
    await writeFile(listFile, '# a few known-bad servers\n203.0.113.128/25 # malware C2 range\n2001:db8:66::/48 # phishing v6\nnot-an-ip\n');
    console.log((await must(gw.cli(['decisions', 'import', listFile, '--reason', 'demo list']))).stdout.trim());
    console.log((await must(gw.cli(['decisions', 'list']))).stdout.trim());

    say('alice-laptop clicks the phishing link, twice (her browser still has the address)');
    for (let i = 0; i < 2; i++) {
      const r = await connectFrom(c1, { host: phish.ipv4, port: phish.httpPort, timeoutMs: 3000, bannerWaitMs: 0 });
      console.log(`alice-laptop → ${phish.ipv4}:${phish.httpPort} : ${r.outcome} after ${r.ms} ms`);
    }
    const r6 = await connectFrom(c1, { host: phish.ipv6, port: phish.httpPort, family: 6, timeoutMs: 3000, bannerWaitMs: 0 });
    console.log(`alice-laptop → [${phish.ipv6}]:${phish.httpPort} : ${r6.outcome} after ${r6.ms} ms`);
    const ok = await httpGetFrom(topo.namespaces.c2, `http://${legit.ipv4}/`, 3000);
    console.log(`bob-phone → http://${legit.ipv4}/ (not listed) : ${ok.outcome} ${ok.status ?? ''}`);

    say('an attacker knocks on the port-forward and on the gateway itself');
    for (const port of [topo.portForward.wanPort, 22]) {
      const r = await connectFrom(topo.namespaces.inet, { host: topo.gateway.wanIpv4, port, sourceAddress: topo.attacker.ipv4, timeoutMs: 1500, bannerWaitMs: 0 });
      console.log(`${topo.attacker.ipv4} → ${topo.gateway.wanIpv4}:${port} : ${r.outcome}`);
    }

    say(`a new lookup of ${names.phishing} is refused by the resolver itself: its answer is a listed address`);
    await lookup(c1, 'alice-laptop', names.phishing);

    say('ads: the demo_ads list blocks the ad network and everything below it (and CNAME cloaking)');
    await lookup(c1, 'alice-laptop', names.adName);
    await lookup(c1, 'alice-laptop', names.cloaked);
    await lookup(c1, 'alice-laptop', names.legit);

    say(`why? (gatehouse dns query ${names.cloaked} --client ${topo.clients[0].ipv4})`);
    console.log((await must(gw.cli(['dns', 'query', names.cloaked, '--client', topo.clients[0].ipv4]))).stdout.trim());

    const bob = topo.clients[1].ipv4;
    say(`bob-phone opts out of ad blocking (gatehouse dns optout add ${bob}): he gets the ad, but still not the phishing site`);
    console.log((await must(gw.cli(['dns', 'optout', 'add', bob]))).stdout.trim());
    await lookup(c2, 'bob-phone', names.adName);
    const ad = await run('ip', ['netns', 'exec', c2, 'curl', '-s', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}', `http://${names.adName}/`]).catch((e: Error) => ({ stdout: e.message }));
    console.log(`bob-phone: curl http://${names.adName}/ → HTTP ${ad.stdout.trim()}`);
    await lookup(c2, 'bob-phone', names.phishing);

    say(`a device with a hard-coded resolver (${topo.dns.publicResolver.ipv4}) is filtered too (dns.redirect_lan)`);
    const hard = await lookupFrom(c1, names.adName, 'A', topo.dns.publicResolver.ipv4);
    console.log(`alice-laptop: dig @${topo.dns.publicResolver.ipv4} ${names.adName} → ${describeLookup(hard)}`);

    say('a second firewall on the LAN downloads the blocklist mirror');
    const mirror = await httpGetFrom(topo.namespaces.c2, `http://${lanGw}:41412/security/blocklist`, 3000);
    console.log(`bob-phone → http://${lanGw}:41412/security/blocklist : ${mirror.outcome} ${mirror.status ?? ''}`);
    console.log((mirror.body ?? '').trim().split('\n').map((l) => `  ${l}`).join('\n'));

    say('block report (gatehouse blocks)');
    await new Promise((r) => setTimeout(r, 1200));
    console.log((await must(gw.cli(['blocks']))).stdout.trim());
    say(`why is ${phish.ipv4} blocked? (gatehouse explain ${phish.ipv4})`);
    console.log((await must(gw.cli(['explain', phish.ipv4]))).stdout.trim());

    await runPortalDemo(lab, gw);

    // Its own lab beside this one (it fills a 50 Mbit/s link for a while): `<prefix>s-*`, removed when done.
    await demoShaper({ prefix: validatePrefix(`${PREFIX.slice(0, 5)}s`), dir: DEMO_DIR, say });

    if (opts.once) return;
    say('Gatehouse keeps running. From another terminal, try:');
    const c = `--config ${gw.configFile}`;
    console.log(
      [
        `  npx gatehouse blocks ${c}`,
        `  npx gatehouse explain ${phish.ipv4} ${c}`,
        `  npx gatehouse decisions add ${legit.ipv4} --reason test ${c}`,
        `  nsenter --net=/run/netns/${c1} curl -m 3 http://${legit.ipv4}/     # a LAN client`,
        `  ip netns exec ${c1} curl -m 3 http://${names.legit}/     # by name: the client's resolver is Gatehouse`,
        `  ip netns exec ${c1} dig ${names.adName}     # blocked: NXDOMAIN with the reason (EDE)`,
        `  npx gatehouse dns log ${c}     # what the LAN looked up`,
        `  npx gatehouse dns status ${c}`,
        `  npx gatehouse dns query ${names.adName} --client ${topo.clients[0].ipv4} ${c}`,
        `  npx gatehouse allow add ${legit.ipv4} ${c}`,
        `  npx gatehouse feeds list ${c}`,
        `  npx gatehouse bouncers add my-firewall ${c}     # a CrowdSec bouncer key for http://${lanGw}:8081/`,
        `  nsenter --net=/run/netns/${topo.namespaces.gw} nft list table inet gatehouse`,
        `  npx gatehouse sessions list ${c}     # captive portal sessions (alice-laptop is back on the portal)`,
        `  ip netns exec ${c1} curl -si http://${legit.ipv4}/ | head -3     # → 302 to the portal`,
        `  npx gatehouse portal info ${c}     # the RFC 8910 DHCP lines announcing the portal`,
      ].join('\n'),
    );
    say('new blocks appear below as they happen; Ctrl-C stops and removes everything');
    await followBlocks(gw, () => stopping);
  } finally {
    await cleanup();
  }
}

async function must(p: Promise<{ code: number; stdout: string; stderr: string }>): Promise<{ stdout: string }> {
  const r = await p;
  if (r.code !== 0) throw new Error(r.stderr.trim() || `command failed with ${r.code}`);
  return r;
}

async function followBlocks(gw: LabGateway, stopped: () => boolean): Promise<void> {
  const seen = new Map<number, number>();
  let first = true;
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    const tick = async () => {
      if (stopped()) return resolve();
      const r = await gw.cli(['blocks', '--json', '--limit', '50']);
      if (r.code === 0) {
        const fresh = (JSON.parse(r.stdout) as BlockEvent[]).filter((b) => seen.get(b.id) !== b.count);
        for (const b of fresh) seen.set(b.id, b.count);
        if (!first && fresh.length > 0) console.log(formatBlocks(fresh));
        first = false;
      }
      setTimeout(() => void tick(), 2000);
    };
    void tick();
  });
}
