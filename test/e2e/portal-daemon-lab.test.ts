import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SITE_MARKER } from '../../src/lab/index.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { curlFrom, downloadFrom, SOURCE_HTTP_PORT, startTrafficSource } from './helpers/portal-lab.js';

/*
 * The captive portal's kernel side under the real daemon (lab prefix pk): a click-through login from a LAN
 * client, then kill -9 of the daemon — the granted client keeps working and the other one stays out, a
 * restart re-asserts both — and a session download quota stopping a full-speed download in the kernel, the
 * session ending by itself and the next web request landing on the portal.
 */

const PORT = 8880;
const QUOTA_MB = 40;
const MB = 1_000_000;

describe('portal kernel under the daemon', { skip: skipReason, timeout: 240_000 }, () => {
  let g: GatewayLab;
  const c = (i: 0 | 1) => g.topo.clients[i];
  const site = () => `http://${g.topo.sites.legit.ipv4}/`;
  const portalUrl = () => `http://${g.topo.gateway.lanIpv4}:${PORT}`;

  /** The resident's click on "accept", as a browser without JavaScript sends it. */
  async function clickThrough(i: 0 | 1): Promise<void> {
    const jar = `${g.dir}/cookies-${i}.txt`;
    const page = await curlFrom(c(i).ns, `${portalUrl()}/login`, ['-c', jar]);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(csrf, `login page without a CSRF field: ${page.body.slice(0, 300)}`);
    const r = await curlFrom(c(i).ns, `${portalUrl()}/login`, ['-b', jar, '--data-urlencode', 'method=click_through', '--data-urlencode', `csrf=${csrf}`]);
    assert.equal(r.http, 303, `login answered ${r.http}: ${r.body.slice(0, 300)}`);
  }

  const onPortal = async (i: 0 | 1): Promise<boolean> => {
    const r = await curlFrom(c(i).ns, site(), [], 5);
    return r.http === 302 || r.body.includes('csrf');
  };
  const onSite = async (i: 0 | 1): Promise<boolean> => (await curlFrom(c(i).ns, site(), [], 5)).body.includes(SITE_MARKER.legit);

  before(async () => {
    g = await GatewayLab.start('pk', {
      portal: { listen: `[::]:${PORT}`, auth: ['click_through'], limits: { session_time: '1h', download: `${QUOTA_MB}MB` } },
    });
    await startTrafficSource(g.topo.namespaces.inet);
    await g.startDaemon(60_000);
  });
  after(async () => {
    await g?.close();
  });

  test('kill -9 of the daemon: the logged-in client keeps working, the other stays out; a restart re-asserts both', async () => {
    assert.ok(await onPortal(0), 'before the login c1 is sent to the portal');
    const site6 = `http://[${g.topo.sites.legit.ipv6}]/`;
    const before6 = await curlFrom(c(0).ns, site6, [], 5);
    assert.ok(!before6.body.includes(SITE_MARKER.legit), 'before the login IPv6 does not reach the site either');
    await clickThrough(0);
    assert.ok(await onSite(0), 'after the login c1 reaches the site');
    const after6 = await curlFrom(c(0).ns, site6, [], 5);
    assert.ok(after6.body.includes(SITE_MARKER.legit), `after the login (over IPv4) the device's IPv6 address reaches the site too: curl ${after6.code} ${after6.http}`);
    assert.ok(await onPortal(1), 'c2 has not logged in');

    await g.stopDaemon('SIGKILL');
    assert.ok(await onSite(0), 'with the daemon gone the granted client keeps working');
    const c2 = await curlFrom(c(1).ns, `http://${g.topo.sites.legit.ipv4}:${SOURCE_HTTP_PORT}/?bytes=10`, [], 5);
    assert.equal(c2.code, 7, 'with the daemon gone the other client is still refused (reset)');
    assert.ok(!(await onSite(1)), 'and does not reach the site');

    await g.startDaemon(60_000);
    assert.ok(await onSite(0), 'after the restart the session is still there');
    assert.ok(await onPortal(1), 'after the restart c2 lands on the portal again');
  });

  test(`a download over the ${QUOTA_MB} MB session quota stops at the limit at full speed, the session ends and the next request lands on the portal`, async () => {
    await clickThrough(0).catch(() => undefined); // already in from the first test, or logs in now
    assert.ok(await onSite(0));
    const dl = await downloadFrom(c(0).ns, `http://${g.topo.sites.legit.ipv4}:${SOURCE_HTTP_PORT}/?bytes=${1000 * MB}`, 60, 2);
    const stalledAt = Date.now();
    console.log(`quota ${QUOTA_MB} MB: the download got ${(dl.bytes / MB).toFixed(2)} MB (overshoot ${((dl.bytes - QUOTA_MB * MB) / MB).toFixed(2)} MB; curl exit ${dl.code})`);
    assert.ok(dl.bytes < (QUOTA_MB + 3) * MB, `stopped at the limit: ${dl.bytes} bytes`);
    let ended: number | undefined;
    while (Date.now() - stalledAt < 20_000) {
      if (await onPortal(0)) {
        ended = Date.now() - stalledAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`the next web request landed on the portal ${ended === undefined ? 'never (20 s)' : `${(ended / 1000).toFixed(1)} s after the download stalled (curl needs 2 s to call it stalled)`}`);
    assert.ok(ended !== undefined, 'the session ended and the client is back on the portal');
  });
});
