import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectFrom } from '../../src/lab/probe.js';
import { ipIn } from '../../src/lab/ns.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import type { BlockEvent } from '../../src/api/contract.js';

/** Polls `gatehouse blocks` until a row matching `pred` appears (the collector runs every second). */
async function waitForBlock(g: GatewayLab, pred: (b: BlockEvent) => boolean): Promise<BlockEvent> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const blocks = await g.cliJson<BlockEvent[]>(['blocks']);
    const hit = blocks.find(pred);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no matching block event; have: ${JSON.stringify(blocks, null, 1)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('clients context in the lab: who a LAN address is', { skip: skipReason, timeout: 180_000 }, () => {
  let g: GatewayLab;

  before(async () => {
    g = await GatewayLab.start('n4c');
    const leases = join(g.dir, 'dnsmasq.leases');
    // bob's phone has no configured name, only the hostname of its IPv4 lease; DHCPv6 lines carry no MAC.
    const c2 = g.topo.clients[1];
    await writeFile(leases, `${Math.floor(Date.now() / 1000) + 3600} ${c2.mac} ${c2.ipv4} bobs-phone *\nduid 00:01:00:01:2c:aa:bb:cc:dd:ee:ff:00\n`);
    await g.writeConfig({ clients: { names: [{ mac: g.topo.clients[0].mac, name: 'alice-laptop' }], dhcp_leases: leases } });
    await g.startDaemon();
    const phish = g.topo.sites.phishing;
    for (const v of [phish.ipv4, phish.ipv6]) {
      const r = await g.cli(['decisions', 'add', v, '--direction', 'outbound', '--reason', 'phishing']);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    if (g) await g.close();
  });

  for (const [i, name] of [
    [0, 'alice-laptop'],
    [1, 'bobs-phone'],
  ] as const) {
    test(`an IPv6 outbound block of client ${i + 1} carries its MAC and name, though its neighbour entry appears only with the block`, async () => {
      const c = g.topo.clients[i];
      const phish = g.topo.sites.phishing;
      // The gateway has not met the client over IPv6 yet: the entry appears when the reset goes back to it.
      await ipIn(g.topo.namespaces.gw, ['-6', 'neigh', 'flush', 'dev', g.topo.gateway.lanBridge]);
      // An IPv4 block first, so the daemon has just read the neighbour table (without the IPv6 entry).
      await connectFrom(c.ns, { host: phish.ipv4, port: phish.httpPort, timeoutMs: 3000, bannerWaitMs: 0 });
      const v4 = await waitForBlock(g, (b) => b.clientIp === c.ipv4 && b.remoteIp === phish.ipv4);
      assert.equal(v4.clientMac, c.mac);

      const r6 = await connectFrom(c.ns, { host: phish.ipv6, port: phish.httpPort, family: 6, timeoutMs: 3000, bannerWaitMs: 0 });
      assert.equal(r6.outcome, 'refused', 'the IPv6 connection is reset at the gateway');
      const v6 = await waitForBlock(g, (b) => b.clientIp === c.ipv6 && b.remoteIp === phish.ipv6);
      assert.equal(v6.clientMac, c.mac, 'the IPv6 event names the device by MAC');
      assert.equal(v6.clientName, name, 'and by the name its MAC has (config name or IPv4 lease)');
      const rows = (await g.cliJson<BlockEvent[]>(['blocks'])).filter((b) => b.clientIp === c.ipv6);
      assert.equal(rows.length, 1, `one row per client and remote, not one without a MAC: ${JSON.stringify(rows)}`);
      const text = await g.cli(['blocks', '--client', c.ipv6]);
      assert.match(text.stdout, new RegExp(`${c.ipv6} ${c.mac} ${name}`));
    });
  }
});
