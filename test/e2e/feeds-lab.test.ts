import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectFrom, httpGetFrom } from '../../src/lab/probe.js';
import { feedUrl } from '../../src/lab/topology.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { CROWDSEC_MISSING, CrowdsecLapi, crowdsecInstalled } from './peers/crowdsec.js';
import type { BlockEvent } from '../../src/store/block-events.js';
import type { Decision } from '../../src/decisions/types.js';
import type { FeedStatus } from '../../src/feeds/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(300);
  }
}

const skip = skipReason ?? (crowdsecInstalled() ? undefined : CROWDSEC_MISSING);

describe('feeds and a real CrowdSec LAPI feed the gateway', { skip, timeout: 300_000 }, () => {
  let g: GatewayLab;
  let lapi: CrowdsecLapi;
  const listLines = (n: number) => Array.from({ length: n }, (_, i) => `203.0.113.${i + 100}`).join('\n');

  before(async () => {
    g = await GatewayLab.start('n6fd');
    const t = g.topo;
    // The real list the gateway downloads over HTTP from the lab's internet: the phishing server plus 50 others.
    await writeFile(join(g.lab.feedsDir, 'phish.txt'), `# phishing IPs\n${t.sites.phishing.ipv4}\n${listLines(50)}\nnot-an-ip\n`);
    lapi = await CrowdsecLapi.start({ ns: t.namespaces.inet, host: t.sites.legit.ipv4, port: 8080 });
    const key = await lapi.addBouncer('gatehouse');
    await g.writeConfig({
      feeds: [
        { name: 'phishdb', type: 'url', url: feedUrl(t, 'phish.txt'), format: 'plain', direction: 'outbound', refresh: '1h', max_shrink: 0.5 },
        { name: 'cs', type: 'crowdsec', url: `http://${t.sites.legit.ipv4}:8080/`, api_key: key, refresh: '1s', direction: 'inbound' },
      ],
      lapi: { listen: `${t.gateway.lanIpv4}:8081` },
      mirror: { listen: `${t.gateway.lanIpv4}:41412`, endpoints: [{ path: '/blocklist', format: 'plain_text', auth: 'ip_based', trusted_ips: [t.networks.lan4] }] },
    });
    await g.startDaemon();
  });
  after(async () => {
    await g?.close();
    await lapi?.destroy().catch(() => undefined);
  });

  test('a downloaded feed is enforced, and the block report names the feed', async () => {
    const feeds = await eventually('the feed to load', async () => {
      const fs = await g.cliJson<FeedStatus[]>(['feeds', 'list']);
      return fs.find((f) => f.name === 'phishdb' && f.entries === 51) ? fs : undefined;
    });
    const phishdb = feeds.find((f) => f.name === 'phishdb')!;
    assert.equal(phishdb.skipped, 1, 'the garbage line is skipped and counted');
    assert.equal(phishdb.warning, null);

    const phish = g.topo.sites.phishing;
    const r = await connectFrom(g.topo.namespaces.c1, { host: phish.ipv4, port: phish.httpPort, timeoutMs: 3000, bannerWaitMs: 0 });
    assert.equal(r.outcome, 'refused');
    const ev = await eventually('a block event', async () => (await g.cliJson<BlockEvent[]>(['blocks'])).find((b) => b.remoteIp === phish.ipv4));
    assert.equal(ev.decisions[0]?.origin, 'feed:phishdb');
    const text = await g.cli(['blocks']);
    assert.match(text.stdout, /feed:phishdb/);
  });

  test('a truncated or garbage download never wipes the feed', async () => {
    const file = join(g.lab.feedsDir, 'phish.txt');
    // The test's own starting point: the phishing server and 50 others, loaded.
    await writeFile(file, `${g.topo.sites.phishing.ipv4}\n${listLines(50)}\n`);
    assert.equal((await g.cliJson<FeedStatus[]>(['feeds', 'refresh', 'phishdb']))[0]!.entries, 51);
    await writeFile(file, `${g.topo.sites.phishing.ipv4}\n`);
    const r = await g.cli(['feeds', 'refresh', 'phishdb', '--json']);
    assert.notEqual(r.code, 0, 'a refused refresh exits non-zero');
    const st = (JSON.parse(r.stdout) as FeedStatus[])[0]!;
    assert.match(st.warning ?? '', /keeping the previous list/);
    assert.equal(st.entries, 51);

    await writeFile(file, '<html><body>502 Bad Gateway</body></html>\n<p>try again later</p>\n');
    const r2 = await g.cli(['feeds', 'refresh', 'phishdb', '--json']);
    assert.notEqual(r2.code, 0);
    assert.equal((JSON.parse(r2.stdout) as FeedStatus[])[0]!.entries, 51);
    const still = await connectFrom(g.topo.namespaces.c1, { host: g.topo.sites.phishing.ipv4, port: 80, timeoutMs: 3000, bannerWaitMs: 0 });
    assert.equal(still.outcome, 'refused', 'still blocked after the bad downloads');

    // A proper update that drops a few entries goes through.
    await writeFile(file, `${g.topo.sites.phishing.ipv4}\n${listLines(40)}\n`);
    const r3 = await g.cliJson<FeedStatus[]>(['feeds', 'refresh', 'phishdb']);
    assert.equal(r3[0]!.entries, 41);
    assert.equal(r3[0]!.warning, null);
  });

  test('feeds refresh on a terminal says what it is doing and ends the line with done', async () => {
    await writeFile(join(g.lab.feedsDir, 'phish.txt'), `${g.topo.sites.phishing.ipv4}\n${listLines(40)}\n`);
    const r = await g.cliOnTerminal(['feeds', 'refresh', 'phishdb']);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^refreshing phishdb…/);
    // The status line is rewritten in place, then the usual table follows.
    assert.match(r.stdout, /\rrefresh of phishdb: done *\r?\n/);
    assert.match(r.stdout, /phishdb +url +outbound +41 /);
  });

  test('decisions added with cscli on a real CrowdSec LAPI are pulled, enforced, deleted, and kept while it is down', async () => {
    const t = g.topo;
    const atk = t.attacker.ipv4;
    const fwd = t.portForward;
    const knock = () => connectFrom(t.namespaces.inet, { host: fwd.wanAddress, port: fwd.wanPort, sourceAddress: atk, timeoutMs: 1500 });
    assert.equal((await knock()).outcome, 'connected');

    await lapi.addDecision({ ip: atk, duration: '1h', reason: 'ssh-bf seen on the SIP server' });
    await lapi.addDecision({ range: '192.0.2.128/25', duration: '2h' });
    const got = await eventually('the crowdsec decision to arrive', async () => {
      const ds = await g.cliJson<Decision[]>(['decisions', 'list', '--origin', 'feed:cs']);
      return ds.some((d) => d.value === atk) && ds.some((d) => d.value === '192.0.2.128/25') ? ds : undefined;
    });
    const d = got.find((x) => x.value === atk)!;
    assert.equal(d.direction, 'inbound');
    assert.ok(d.expiresAt !== null && d.expiresAt - Date.now() > 3500_000 && d.expiresAt - Date.now() <= 3600_000, 'duration kept from the LAPI');
    assert.equal((await knock()).outcome, 'timeout', 'the attacker is dropped');

    await lapi.deleteDecisions({ ip: atk });
    await eventually('the deletion to arrive', async () => {
      const ds = await g.cliJson<Decision[]>(['decisions', 'list', '--origin', 'feed:cs']);
      return ds.some((x) => x.value === atk) ? undefined : true;
    });
    assert.equal((await knock()).outcome, 'connected', 'unblocked after cscli decisions delete');

    await lapi.addDecision({ ip: atk, duration: '1h' });
    await eventually('the new decision', async () => ((await g.cliJson<Decision[]>(['decisions', 'list', '--value', atk])).length > 0 ? true : undefined));
    await lapi.stop();
    // Until the feed has tried and failed (it polls every second), then its decisions must still be there.
    const down = await eventually('the feed to notice the LAPI is down', async () =>
      (await g.cliJson<FeedStatus[]>(['feeds', 'list'])).find((f) => f.name === 'cs' && /keeping/.test(f.warning ?? '')));
    assert.match(down.warning ?? '', /keeping/);
    const kept = await g.cliJson<Decision[]>(['decisions', 'list', '--origin', 'feed:cs']);
    assert.ok(kept.some((x) => x.value === atk), 'decisions stay while the LAPI is down');
    assert.equal((await knock()).outcome, 'timeout');
    await lapi.start();
    await eventually('the feed to recover', async () => ((await g.cliJson<FeedStatus[]>(['feeds', 'list'])).find((f) => f.name === 'cs')?.warning === null ? true : undefined));
  });

  test('a LAN device uses our Local API with a key from `gatehouse bouncers add`, and our mirror', async () => {
    const t = g.topo;
    const add = await g.cli(['bouncers', 'add', 'lan-firewall']);
    assert.equal(add.code, 0, add.stderr);
    const key = add.stdout.trim().split('\n').at(-1)!;
    assert.match(key, /^\S{16,}$/, 'the key alone on the last line');
    const base = `http://${t.gateway.lanIpv4}:8081`;
    const ok = await httpGetFrom(t.namespaces.c2, `${base}/v1/decisions/stream?startup=true`, 5000, { headers: { 'X-Api-Key': key } });
    assert.equal(ok.status, 200);
    const body = JSON.parse(ok.body ?? '{}') as { new: { value: string; scope: string }[] | null };
    assert.ok(body.new?.some((d) => d.value === t.sites.phishing.ipv4), 'the feed decision is served to bouncers');
    const bad = await httpGetFrom(t.namespaces.c2, `${base}/v1/decisions/stream?startup=true`, 5000, { headers: { 'X-Api-Key': 'wrong' } });
    assert.equal(bad.status, 403);
    assert.equal(bad.body, '{"message":"access forbidden"}');
    const list = await g.cli(['bouncers', 'list']);
    assert.match(list.stdout, /lan-firewall/);

    const mirror = await httpGetFrom(t.namespaces.c2, `http://${t.gateway.lanIpv4}:41412/blocklist`, 5000);
    assert.equal(mirror.status, 200);
    assert.ok((mirror.body ?? '').split('\n').includes(t.sites.phishing.ipv4));
  });
});
