/**
 * The blocklist mirror's `aggregate` option, end to end: set in the config file as cs-blocklist-mirror
 * users write it (`aggregate: true` on a blocklist), served by `gatehouse run`, fetched by a LAN client.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { httpGetFrom } from '../../src/lab/probe.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';

const MIRROR = '10.77.0.1:41412';

describe('blocklist mirror: aggregate in the config', { skip: skipReason, timeout: 120_000 }, () => {
  let g: GatewayLab;
  const get = async (path: string) => {
    const r = await httpGetFrom(g.topo.namespaces.c1, `http://${MIRROR}${path}`, 5000);
    assert.equal(r.outcome, 'response', JSON.stringify(r));
    assert.equal(r.status, 200, r.body);
    return r.body ?? '';
  };

  before(async () => {
    g = await GatewayLab.start('n6mir', {
      mirror: {
        listen: MIRROR,
        endpoints: [
          { path: '/security/blocklist', format: 'plain_text', aggregate: true },
          { path: '/security/plain', format: 'plain_text' },
          { path: '/srx/feed.txt', format: 'juniper', aggregate: true },
        ],
      },
    });
    await g.startDaemon();
    // Four neighbours that make one /30, one lone address, and an IPv6 host.
    for (const v of ['198.18.7.0', '198.18.7.1', '198.18.7.2', '198.18.7.3', '198.18.9.9', '2001:db8:5::5']) {
      const r = await g.cli(['decisions', 'add', v, '--duration', '1h']);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    if (g) await g.close();
  });

  test('an endpoint with aggregate: true serves the fewest CIDRs, single hosts as /32 and /128', async () => {
    assert.equal(await get('/security/blocklist'), '198.18.7.0/30\n198.18.9.9/32\n2001:db8:5::5/128\n');
    assert.equal(await get('/srx/feed.txt'), '198.18.7.0/30\n198.18.9.9/32\n2001:db8:5::5/128\n');
  });

  test('an endpoint without it serves each decision as it is', async () => {
    assert.equal(await get('/security/plain'), '198.18.7.0\n198.18.7.1\n198.18.7.2\n198.18.7.3\n198.18.9.9\n2001:db8:5::5\n');
  });

  test('a misspelt or non-boolean aggregate is refused with the key named', async () => {
    await g.writeConfig({ mirror: { listen: MIRROR, endpoints: [{ path: '/x', format: 'plain_text', aggregate: 'yes' }] } });
    const r = await g.cli(['config', 'check', g.configFile]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /mirror\.endpoints\[0\]\.aggregate/);
  });
});
