/**
 * The portal's pages with the default wildcard listener (`[::]:8880`): the captive LAN gets them over IPv4
 * and IPv6 (an IPv6-only request is sent to the portal's IPv6 address), the internet side does not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { httpGetFrom } from '../../src/lab/index.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';

describe('portal pages on a wildcard listener (lab pw2)', { skip: skipReason, timeout: 180_000 }, () => {
  let g: GatewayLab;
  before(async () => {
    g = await GatewayLab.start('pw2', { portal: { auth: ['click_through'] } });
    await g.startDaemon();
  });
  after(async () => {
    await g?.close();
  });

  it('from the internet the portal port is closed at once; from the LAN it serves the login page on both families', async () => {
    const t = g.topo;
    const wan = await httpGetFrom(t.namespaces.inet, `http://${t.gateway.wanIpv4}:8880/login`, 4000);
    assert.notEqual(wan.outcome, 'response', `the WAN side got a page: ${JSON.stringify(wan).slice(0, 200)}`);
    const wan6 = await httpGetFrom(t.namespaces.inet, `http://[${t.gateway.wanIpv6}]:8880/api/captive`, 4000);
    assert.notEqual(wan6.outcome, 'response');
    for (const base of [`http://${t.gateway.lanIpv4}:8880`, `http://[${t.gateway.lanIpv6}]:8880`]) {
      const r = await httpGetFrom(t.namespaces.c1, `${base}/login`, 4000);
      assert.equal(r.status, 200, base);
      assert.match(r.body ?? '', /Accept and continue/);
    }
  });

  it('an IPv6 request of a device that is not logged in lands on the portal at its IPv6 address; RFC 8908 names it', async () => {
    const t = g.topo;
    const r = await httpGetFrom(t.namespaces.c1, `http://[${t.sites.legit.ipv6}]/generate_204`, 4000);
    assert.equal(r.status, 302);
    assert.ok(r.headers?.location?.startsWith(`http://[${t.gateway.lanIpv6}]:8880/login?to=`), r.headers?.location);
    const api = await httpGetFrom(t.namespaces.c1, `http://[${t.gateway.lanIpv6}]:8880/api/captive`, 4000);
    assert.deepEqual(JSON.parse(api.body ?? ''), { captive: true, 'user-portal-url': `http://[${t.gateway.lanIpv6}]:8880/login` });
  });
});
