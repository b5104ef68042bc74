import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import type { Grant } from '../../src/portal/types.js';
import { BANNER, curlFrom, downloadFrom, GATEWAY_SERVICE_BODY, GATEWAY_SERVICE_PORT, HTTPS_PORT, PORTAL_BODY, PORTAL_PORT, portalLabUp, SOURCE_HTTP_PORT, type PortalLab } from './helpers/portal-lab.js';

/*
 * The captive portal's kernel side with the real nft, conntrack and TCP in the lab (prefix pk): the
 * firewall's and the portal's fragments in the gateway's `inet gatehouse` table, PortalKernel driving it as
 * the session manager would. c1 is a resident; c2 is exempt by MAC.
 */

const root = typeof process.getuid === 'function' && process.getuid() === 0;
const MB = 1_000_000;

describe('portal kernel in the lab', { skip: root ? undefined : 'needs root (network namespaces)', timeout: 240_000 }, () => {
  let pl: PortalLab;
  const topo = () => pl.lab.topology;
  const c1 = () => topo().clients[0];
  const legit4 = (port: number, path = '/') => `http://${topo().sites.legit.ipv4}:${port}${path}`;
  const legit6 = (port: number, path = '/') => `http://[${topo().sites.legit.ipv6}]:${port}${path}`;
  const grantFor = (id: string, extra: Partial<Grant> = {}): Grant => ({
    sessionId: id,
    device: { mac: c1().mac, ipv4: [c1().ipv4], ipv6: [c1().ipv6] },
    untilMs: Date.now() + 600_000,
    ...extra,
  });

  before(async () => {
    pl = await portalLabUp('pk');
    await pl.kernel({ macs: [topo().clients[1].mac], ipv4: [], ipv6: [] }).reassert([]);
  });
  after(async () => {
    await pl?.down();
  });

  test('unauthorised: HTTP lands on the portal, HTTPS is reset at once, IPv6 is refused too; an exempt device passes', async () => {
    const web = await curlFrom(c1().ns, `http://${topo().sites.legit.ipv4}/some/page`);
    assert.equal(web.http, 200);
    assert.match(web.body, new RegExp(`${PORTAL_BODY} ${topo().sites.legit.ipv4}/some/page`), 'tcp/80 to the internet is answered by the portal listener');
    const web6 = await curlFrom(c1().ns, `http://[${topo().sites.legit.ipv6}]/`);
    assert.match(web6.body, new RegExp(PORTAL_BODY), 'IPv6 web requests land on the portal too');

    // 443 answers in the lab internet (a banner): only the gateway can be what resets it.
    const t0 = performance.now();
    const https = await curlFrom(c1().ns, `telnet://${topo().sites.legit.ipv4}:${HTTPS_PORT}`, [], 10);
    console.log(`unauthorised tcp/443: curl exit ${https.code} after ${((performance.now() - t0) / 1000).toFixed(3)} s wall (7 = reset, 28 = hang until its 10 s timeout)`);
    assert.equal(https.code, 7, `expected a reset, got curl exit ${https.code}: ${https.body}`);
    const https6 = await curlFrom(c1().ns, `telnet://[${topo().sites.legit.ipv6}]:${HTTPS_PORT}`, [], 10);
    assert.equal(https6.code, 7, 'IPv6 tcp/443 is reset as well');
    const other6 = await curlFrom(c1().ns, legit6(SOURCE_HTTP_PORT, '/?bytes=10'));
    assert.equal(other6.code, 7, 'IPv6 to any other port is refused before login');

    // The gateway itself: the portal port yes, its other services no.
    const gw = topo().gateway;
    assert.match((await curlFrom(c1().ns, `http://${gw.lanIpv4}:${PORTAL_PORT}/login`)).body, new RegExp(PORTAL_BODY));
    assert.match((await curlFrom(c1().ns, `http://[${gw.lanIpv6}]:${PORTAL_PORT}/login`)).body, new RegExp(PORTAL_BODY));
    assert.equal((await curlFrom(c1().ns, `http://${gw.lanIpv4}:${GATEWAY_SERVICE_PORT}/`)).code, 7, 'other gateway services are refused with a reset');
    assert.equal((await curlFrom(c1().ns, `http://[${gw.lanIpv6}]:${GATEWAY_SERVICE_PORT}/`)).code, 7);

    const exempt = await curlFrom(topo().clients[1].ns, legit4(SOURCE_HTTP_PORT, '/?bytes=1000'));
    assert.equal(exempt.http, 200);
    assert.equal(exempt.bytes, 1000, 'the exempt device (by MAC) reaches the internet without a login');
    const exemptBanner = await curlFrom(topo().clients[1].ns, `telnet://${topo().sites.legit.ipv4}:${HTTPS_PORT}`, [], 3);
    assert.match(exemptBanner.body, new RegExp(BANNER));
  });

  test('granted: IPv4 and IPv6 both work, bytes are counted per address; revoke stops a running download', async () => {
    const k = pl.kernel({ macs: [topo().clients[1].mac], ipv4: [], ipv6: [] });
    const g = grantFor('s-grant');
    const t0 = performance.now();
    await k.grant(g);
    const applyMs = performance.now() - t0;
    const first = await curlFrom(c1().ns, legit4(SOURCE_HTTP_PORT, '/?bytes=300000'));
    console.log(`grant applied in ${applyMs.toFixed(1)} ms; first request after it: HTTP ${first.http}`);
    assert.equal(first.bytes, 300_000);
    const v6 = await curlFrom(c1().ns, legit6(SOURCE_HTTP_PORT, '/?bytes=200000'));
    assert.equal(v6.bytes, 200_000, 'IPv6 works after the grant');
    const web = await curlFrom(c1().ns, `http://${topo().sites.legit.ipv4}/`);
    assert.doesNotMatch(web.body, new RegExp(PORTAL_BODY), 'no more redirect to the portal');
    const banner = await curlFrom(c1().ns, `telnet://${topo().sites.legit.ipv4}:${HTTPS_PORT}`, [], 3);
    assert.match(banner.body, new RegExp(BANNER));
    assert.match((await curlFrom(c1().ns, `http://${topo().gateway.lanIpv4}:${GATEWAY_SERVICE_PORT}/`)).body, new RegExp(GATEWAY_SERVICE_BODY), 'granted: the gateway\'s other services too');

    const usage = await k.usage();
    const u4 = usage.find((u) => u.ip === c1().ipv4);
    const u6 = usage.find((u) => u.ip === c1().ipv6);
    assert.ok(u4 && u4.down >= 300_000 && u4.up > 0, `v4 usage ${JSON.stringify(u4)}`);
    assert.ok(u6 && u6.down >= 200_000 && u6.down < 300_000, `v6 usage ${JSON.stringify(u6)}`);

    // The device shows a new address (adopted into the session): what the known ones counted stays.
    const g2: Grant = { ...g, device: { ...g.device, ipv4: [c1().ipv4, '10.77.0.99'] } };
    await k.grant(g2);
    const kept = (await k.usage()).find((u) => u.ip === c1().ipv4);
    assert.ok(kept && kept.down >= u4.down, `counters kept when the session gains an address: ${JSON.stringify(kept)} vs ${JSON.stringify(u4)}`);

    // A running download (endless stream), then the revoke.
    const started = performance.now();
    const dl = downloadFrom(c1().ns, legit4(SOURCE_HTTP_PORT), 30, 5);
    await new Promise((r) => setTimeout(r, 1500));
    const mid = (await k.usage()).find((u) => u.ip === c1().ipv4)!.down;
    assert.ok(mid > u4.down + MB, 'the download is running');
    const revokedAt = performance.now();
    await k.revoke(g2);
    const res = await dl;
    const stoppedAfter = (started + res.seconds * 1000 - revokedAt) / 1000;
    console.log(`revoke: download ended ${stoppedAfter.toFixed(2)} s after the revoke (curl exit ${res.code}, ${(res.bytes / MB).toFixed(0)} MB received)`);
    assert.notEqual(res.code, 0, 'the endless download did not end normally');
    assert.notEqual(res.code, 28, 'it ended by a reset, not by curl giving up after 30 s');
    assert.ok(res.seconds < 15, `the download ended within ${res.seconds} s, well before its 30 s limit`);
    assert.equal((await k.usage()).length, 0, 'no counters left for the revoked device');
    const after = await curlFrom(c1().ns, `http://${topo().sites.legit.ipv4}/`);
    assert.match(after.body, new RegExp(PORTAL_BODY), 'the next web request lands on the portal');
  });

  test('a download bigger than the session quota stops at the limit at full LAN speed; spent() says so, also after a restart', async () => {
    const k = pl.kernel({ macs: [topo().clients[1].mac], ipv4: [], ipv6: [] });
    // Line rate first: what the quota has to stop.
    await k.grant(grantFor('s-rate'));
    const free = await downloadFrom(c1().ns, legit4(SOURCE_HTTP_PORT, `/?bytes=${400 * MB}`), 30);
    await k.revoke(grantFor('s-rate'));
    const rate = free.bytes / free.seconds;
    assert.equal(free.bytes, 400 * MB);

    const limit = 100 * MB;
    const g = grantFor('s-quota', { downloadLeft: limit, uploadLeft: 50 * MB });
    await k.grant(g);
    assert.deepEqual(await k.spent(), []);
    const res = await downloadFrom(c1().ns, legit4(SOURCE_HTTP_PORT, `/?bytes=${1000 * MB}`), 30, 2);
    const overshootMb = (res.bytes - limit) / MB;
    console.log(
      `quota ${limit / MB} MB at ${((rate * 8) / 1e9).toFixed(2)} Gbit/s line rate (unlimited 400 MB in ${free.seconds.toFixed(2)} s): ` +
        `received ${(res.bytes / MB).toFixed(2)} MB → overshoot ${overshootMb.toFixed(2)} MB (curl exit ${res.code})`,
    );
    assert.ok(res.bytes < 1000 * MB, 'the download did not complete');
    assert.ok(res.bytes <= limit + 2 * MB, `stopped at the limit: ${res.bytes} bytes for a ${limit} byte quota`);
    assert.ok(res.bytes >= limit - 2 * MB, `not before the limit: ${res.bytes}`);
    assert.deepEqual(await k.spent(), [{ sessionId: 's-quota', direction: 'down' }]);

    // A restarted daemon (a new PortalKernel) re-asserts the same grant: the quota keeps what it counted,
    // so the client stays stopped, and the new instance sees the quota spent.
    const k2 = pl.kernel({ macs: [topo().clients[1].mac], ipv4: [], ipv6: [] });
    await k2.reassert([g]);
    assert.deepEqual(await k2.spent(), [{ sessionId: 's-quota', direction: 'down' }]);
    const again = await downloadFrom(c1().ns, legit4(SOURCE_HTTP_PORT, `/?bytes=${10 * MB}`), 10, 2);
    assert.ok(again.bytes < MB, `after the re-assertion the quota is still spent (got ${again.bytes} bytes)`);

    // A top-up: the same session granted a new limit gets a fresh quota; the old one goes.
    const topped = { ...g, downloadLeft: 20 * MB };
    await k2.grant(topped);
    const more = await downloadFrom(c1().ns, legit4(SOURCE_HTTP_PORT, `/?bytes=${10 * MB}`), 10, 2);
    assert.equal(more.bytes, 10 * MB, 'the topped-up session downloads again');
    assert.deepEqual(await k2.spent(), []);
    await k2.revoke(topped);
    assert.deepEqual(await pl.runtime.list('portal_qdown4'), []);
  });

  test('reassert keeps granted clients in without a gap, removes the ones no longer granted, and timeouts end sessions with nobody polling', async () => {
    const k = pl.kernel({ macs: [topo().clients[1].mac], ipv4: [], ipv6: [] });
    const stale = grantFor('s-old');
    await k.grant(stale);
    assert.equal((await curlFrom(c1().ns, legit4(SOURCE_HTTP_PORT, '/?bytes=1000'))).bytes, 1000);

    // While a client downloads steadily, a restarted kernel re-asserts its grant: not one refused packet.
    const fresh = pl.kernel({ macs: [topo().clients[1].mac], ipv4: [], ipv6: [] });
    const dl = downloadFrom(c1().ns, legit4(SOURCE_HTTP_PORT, `/?bytes=${300 * MB}`), 30, 2);
    for (let i = 0; i < 5; i++) await fresh.reassert([stale]);
    const res = await dl;
    assert.equal(res.bytes, 300 * MB, `download across 5 re-assertions: curl exit ${res.code} ${res.body}`);

    // The store no longer knows the session: reassert([]) removes it.
    await fresh.reassert([]);
    assert.equal((await curlFrom(c1().ns, legit4(SOURCE_HTTP_PORT, '/?bytes=10'))).code, 7);

    // A session of 3 s: the kernel drops it by itself.
    await fresh.grant(grantFor('s-short', { untilMs: Date.now() + 3000 }));
    assert.equal((await curlFrom(c1().ns, legit4(SOURCE_HTTP_PORT, '/?bytes=1000'))).bytes, 1000);
    await new Promise((r) => setTimeout(r, 4500));
    const late = await curlFrom(c1().ns, legit4(SOURCE_HTTP_PORT, '/?bytes=1000'));
    assert.equal(late.code, 7, 'refused once the element timed out');
  });
});

