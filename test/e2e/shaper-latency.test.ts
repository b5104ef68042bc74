// Issue #12, "done means": with one resident saturating the ISP link, another resident's ping-sized and
// SSH-sized exchanges stay quick. p50/p99 without and with the shaper, through a real Gatehouse daemon.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { waitForShares } from './helpers/shaper.js';
import { latencyRun, type LatencyResult } from '../../src/lab/scenarios.js';
import { mbit } from '../../src/lab/fairness.js';

const LINK = { down: '50mbit', up: '10mbit' } as const;
const SHAPER = { shaper: { download: '47mbit', upload: '9mbit' } };

const show = (r: LatencyResult) =>
  `udp echo p50 ${r.udp.p50.toFixed(1)} p99 ${r.udp.p99.toFixed(1)} ms (lost ${r.udp.lost}); ` +
  `tcp request p50 ${r.tcp.p50.toFixed(1)} p99 ${r.tcp.p99.toFixed(1)} ms (lost ${r.tcp.lost}); ` +
  `c1's own ssh connect p50 ${r.own.p50.toFixed(1)} p99 ${r.own.p99.toFixed(1)} ms (lost ${r.own.lost}); saturating c1 ${mbit(r.saturatorBps)} Mbit/s`;

describe('shaper latency: a small request while another resident saturates the link', { skip: skipReason, timeout: 115_000 }, () => {
  let g: GatewayLab;
  let unshaped: LatencyResult | undefined;

  before(async () => {
    g = await GatewayLab.start('sl2', {}, { bottleneck: LINK, iperf: 1 });
    await g.startDaemon();
  });
  after(async () => {
    if (g) await g.close();
  });

  test("without the shaper the other resident waits behind the download in the modem's queue", async (t) => {
    unshaped = await latencyRun(g.topo);
    t.diagnostic(`no shaper: ${show(unshaped)}`);
    // The modem buffers up to 200 ms: a full queue shows as tens of milliseconds on every exchange.
    assert.ok(unshaped.udp.p50 >= 10, show(unshaped));
  });

  test('with the shaper the small exchanges bypass the download: p50 at least halved, nothing lost, link still used', async (t) => {
    await g.stopDaemon();
    await g.writeConfig(SHAPER);
    await g.startDaemon();
    const shaped = await latencyRun(g.topo, { whenKnown: async () => void (await waitForShares(g, g.topo.clients.map((c) => c.ipv4))) });
    t.diagnostic(`shaper: ${show(shaped)}`);
    assert.equal(shaped.udp.lost + shaped.tcp.lost, 0, show(shaped));
    assert.ok(shaped.saturatorBps >= 47e6 * 0.6, `the saturating resident keeps most of the link: ${show(shaped)}`);
    if (!unshaped) assert.fail('the unshaped run did not complete');
    assert.ok(shaped.udp.p50 <= unshaped.udp.p50 / 2, `udp: with ${show(shaped)} / without ${show(unshaped)}`);
    assert.ok(shaped.tcp.p50 <= unshaped.tcp.p50 / 2, `tcp: with ${show(shaped)} / without ${show(unshaped)}`);
    // p99 (the slowest of 30 samples) is reported, not asserted: loaded runs of this test showed 50–130 ms bursts
    // every few seconds with the shaper too (quiet bench runs did not), so one sample would decide it.
    // Inside the downloading resident's own share, SSH goes before the download (interactive leaf).
    assert.ok(shaped.own.p50 < unshaped.own.p50, `own ssh: with ${show(shaped)} / without ${show(unshaped)}`);
  });
});
