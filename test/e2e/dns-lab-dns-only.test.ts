/**
 * Issue #10: a DNS-only deployment (Pi-hole's job) — a `dns:` section with the firewall off — filters names
 * and checks answers against the decisions, and never creates an nftables table.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { labTopology } from '../../src/lab/topology.js';
import { BAD_RANGE_MEMBER, labNames } from '../../src/lab/zone.js';
import { connectFrom } from '../../src/lab/probe.js';
import { bannerText } from '../../src/lab/server-spec.js';
import { labDnsConfig } from '../../src/lab/gateway-runner.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { digIn, show } from './helpers/dig.js';

const PREFIX = 'l7b';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DNS-only deployment in the lab (firewall off)', { skip: skipReason, timeout: 180_000 }, () => {
  let g: GatewayLab;
  const n = labNames(labTopology(PREFIX));

  before(async () => {
    g = await GatewayLab.start(PREFIX);
    const list = join(g.dir, 'ads.txt');
    await writeFile(list, 'adnet.example\n');
    await g.writeConfig({
      firewall: { inbound: 'off', outbound: 'off' },
      dns: {
        ...labDnsConfig(g.topo),
        blocklists: [{ name: 'ads', type: 'file', path: list, format: 'domains' }],
      },
    });
    await g.startDaemon(40_000);
  });
  after(async () => {
    if (g) await g.close();
  });

  test('names are filtered and answers checked against decisions, with no nft table', async () => {
    const c1 = g.topo.namespaces.c1;
    const gw = g.topo.gateway.lanIpv4;
    let ad = await digIn(c1, gw, n.adName);
    for (let i = 0; i < 50 && ad.status !== 'NXDOMAIN'; i++) {
      await sleep(200);
      ad = await digIn(c1, gw, n.adName);
    }
    assert.equal(ad.status, 'NXDOMAIN', show(ad));
    const shop = await digIn(c1, gw, n.legit);
    assert.deepEqual([shop.status, shop.answers], ['NOERROR', [g.topo.sites.legit.ipv4]], show(shop));

    const pre = await digIn(c1, gw, n.badRangeName);
    assert.deepEqual(pre.answers, [BAD_RANGE_MEMBER.ipv4], show(pre));
    const add = await g.cli(['decisions', 'add', n.badRange.ipv4, '--reason', 'bad hoster', '--duration', '1h']);
    assert.equal(add.code, 0, add.stderr);
    let bad = await digIn(c1, gw, n.badRangeName);
    for (let i = 0; i < 50 && bad.status !== 'NXDOMAIN'; i++) {
      await sleep(200);
      bad = await digIn(c1, gw, n.badRangeName);
    }
    assert.equal(bad.status, 'NXDOMAIN', show(bad));
    assert.match(bad.ede ?? '', /203\.0\.113\.64\/26/);

    // Without redirect_lan nothing stands between the LAN and an outside DNS-over-TLS port.
    const dot = await connectFrom(c1, { host: g.topo.dns.publicResolver.ipv4, port: g.topo.ports.dot, timeoutMs: 3000 });
    assert.deepEqual([dot.outcome, dot.banner], ['connected', bannerText(g.topo, 'dot')]);

    const tables = await g.nft(['list', 'tables']);
    assert.doesNotMatch(tables, /gatehouse/, `no Gatehouse table in the gateway:\n${tables}`);
    assert.match(tables, new RegExp(g.topo.natTable.name), 'the lab’s own NAT table is there (the listing works)');
  });
});
