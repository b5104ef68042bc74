// Issue #12, "done means": 4 residents downloading at once over a 50/10 Mbit/s ISP link, one with a download
// manager's 16 parallel streams. Real iperf3 (Debian) through a real Gatehouse daemon in the lab gateway;
// Jain's index over the residents' throughputs, first without the shaper, then with it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { fairnessRun, type FairnessResult } from '../../src/lab/scenarios.js';
import { iperfTogether } from '../../src/lab/iperf.js';
import { mbit } from '../../src/lab/fairness.js';

const LINK = { down: '50mbit', up: '10mbit' } as const;
// A little below the ISP's rates, as the README tells admins: the queue must build in the gateway.
const SHAPER = { shaper: { download: '47mbit', upload: '9mbit' } };

const show = (r: FairnessResult) => `${r.clients.map((c) => `${c.client}×${c.streams}: ${mbit(c.bps)}`).join(', ')} Mbit/s; Jain ${r.jain.toFixed(3)}`;

describe('shaper fairness: 4 residents, one with 16 streams, on a 50/10 Mbit/s ISP link', { skip: skipReason, timeout: 115_000 }, () => {
  let g: GatewayLab;
  let unshaped: FairnessResult | undefined;

  before(async () => {
    g = await GatewayLab.start('sl', {}, { clients: 4, bottleneck: LINK, iperf: 4 });
    await g.startDaemon();
  });
  after(async () => {
    if (g) await g.close();
  });

  test('the lab ISP link is the bottleneck: a download reaches about 50 Mbit/s and an upload about 10, no more', async () => {
    // One after the other: an upload filling the 10 Mbit/s modem queue delays the download's ACKs by up to
    // 200 ms (what asymmetric links do), which would measure that, not the link rate.
    const [down] = await iperfTogether(g.topo, [{ ns: g.topo.clients[1].ns, port: g.topo.iperf.basePort, streams: 2 }], { seconds: 3, omit: 1 });
    const [up] = await iperfTogether(g.topo, [{ ns: g.topo.clients[2]!.ns, port: g.topo.iperf.basePort + 1, streams: 2, direction: 'up' }], { seconds: 3, omit: 1 });
    assert.ok(down!.bps <= 50e6 * 1.05, `down ${mbit(down!.bps)} Mbit/s exceeds the link`);
    assert.ok(down!.bps >= 50e6 * 0.5, `down ${mbit(down!.bps)} Mbit/s: the lab link does not carry its rate`);
    assert.ok(up!.bps <= 10e6 * 1.05, `up ${mbit(up!.bps)} Mbit/s exceeds the link`);
    assert.ok(up!.bps >= 10e6 * 0.5, `up ${mbit(up!.bps)} Mbit/s: the lab link does not carry its rate`);
  });

  test('without the shaper the 16-stream resident takes most of the link', async (t) => {
    unshaped = await fairnessRun(g.topo, { heavyStreams: 16 });
    t.diagnostic(`no shaper: ${show(unshaped)}`);
    const [heavy, ...others] = unshaped.clients;
    for (const o of others) assert.ok(heavy!.bps > o.bps, `16 streams (${mbit(heavy!.bps)}) beat ${o.client} (${mbit(o.bps)}): ${show(unshaped)}`);
    assert.ok(unshaped.jain < 0.9, show(unshaped));
  });

  test("with the shaper every resident gets a fair share whatever its connection count: Jain's index ≥ 0.95", async (t) => {
    await g.stopDaemon();
    await g.writeConfig(SHAPER);
    await g.startDaemon();
    const shaped = await fairnessRun(g.topo, { heavyStreams: 16 });
    t.diagnostic(`shaper: ${show(shaped)}`);
    assert.ok(shaped.jain >= 0.95, show(shaped));
    // Fair, not throttled: the residents together still use most of the shaped link.
    assert.ok(shaped.totalBps >= 47e6 * 0.7, `total ${mbit(shaped.totalBps)} Mbit/s of 47`);
    if (unshaped) assert.ok(shaped.jain - unshaped.jain >= 0.1, `with ${shaped.jain.toFixed(3)} vs without ${unshaped.jain.toFixed(3)}`);
  });
});
