// The lab's optional shape (N clients, an ISP bottleneck, iperf3 servers) and the fairness figures. Pure: no root.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labTopology, allInterfaceNames, interfacesByNamespace, parseLabRate, MAX_CLIENTS, MAX_IFNAME } from '../../src/lab/topology.js';
import { buildPlan } from '../../src/lab/plan.js';
import { fifoBytes } from '../../src/lab/bottleneck.js';
import { jainIndex, percentile, summarize } from '../../src/lab/fairness.js';
import { iperfClientArgs, parseIperfJson } from '../../src/lab/iperf.js';
import { iperfServerArgs, isLabIperf } from '../../src/lab/iperf-servers.js';

describe('lab with N clients', () => {
  it('keeps the default two-client shape byte for byte', () => {
    const a = labTopology('t1');
    const b = labTopology('t1', { clients: 2 });
    assert.deepEqual(a, b);
    assert.deepEqual(a.namespaces.all, ['t1-gw', 't1-c1', 't1-c2', 't1-inet']);
    assert.equal(a.bottleneck, undefined);
    assert.deepEqual(a.clients.map((c) => [c.mac, c.ipv4, c.ipv6]), [
      ['02:77:00:00:00:10', '10.77.0.10', 'fd77::10'],
      ['02:77:00:00:00:11', '10.77.0.11', 'fd77::11'],
    ]);
    assert.ok(!buildPlan(a).some((s) => s.argv.includes('tc')), 'no tc without a bottleneck');
  });

  it('numbers clients c1..cN with distinct addresses, MACs and bridge ports inside the LAN', () => {
    const t = labTopology('t1', { clients: 6 });
    assert.deepEqual(t.namespaces.clients, ['t1-c1', 't1-c2', 't1-c3', 't1-c4', 't1-c5', 't1-c6']);
    assert.deepEqual(t.namespaces.all, ['t1-gw', ...t.namespaces.clients, 't1-inet']);
    for (const key of ['mac', 'ipv4', 'ipv6', 'gatewayPort', 'ns'] as const) assert.equal(new Set(t.clients.map((c) => c[key])).size, 6, key);
    assert.deepEqual(t.gateway.lanPorts, t.clients.map((c) => c.gatewayPort));
    assert.equal(interfacesByNamespace(t)['t1-c6']?.[0], 'eth0');
    const max = labTopology('abcdef', { clients: MAX_CLIENTS });
    for (const n of allInterfaceNames(max)) assert.ok(n.length <= MAX_IFNAME, n);
    assert.ok(max.clients.every((c) => /^10\.77\.0\.\d+$/.test(c.ipv4) && /^02(:[0-9a-f]{2}){5}$/.test(c.mac)));
    const plan = buildPlan(t).map((s) => s.argv.join(' '));
    assert.ok(plan.includes('ip -n t1-c6 route add default via 10.77.0.1 dev eth0'));
  });

  it('refuses a client count it cannot build', () => {
    for (const bad of [0, 1, 1.5, MAX_CLIENTS + 1, Number.NaN]) assert.throws(() => labTopology('t1', { clients: bad }), /clients must be/, String(bad));
  });
});

describe('lab ISP bottleneck', () => {
  it('parses tc-style rates and refuses others', () => {
    assert.equal(parseLabRate('50mbit'), 50_000_000);
    assert.equal(parseLabRate('512kbit'), 512_000);
    assert.equal(parseLabRate('1.5gbit'), 1_500_000_000);
    assert.equal(parseLabRate(10_000_000), 10_000_000);
    for (const bad of ['50', '50mbps', '-1mbit', 'mbit', '50 mbit; rm', '1bit']) assert.throws(() => parseLabRate(bad), /lab rate/, bad);
  });

  it('limits download on the inet uplink and upload on an ifb fed from its ingress, never in the gateway', () => {
    const t = labTopology('t1', { clients: 4, bottleneck: { down: '50mbit', up: '10mbit' } });
    assert.deepEqual(t.bottleneck, { downBps: 50_000_000, upBps: 10_000_000, bufferMs: 200, ifb: 'isp-up' });
    const steps = buildPlan(t).map((s) => s.argv);
    const tc = steps.filter((a) => a.includes('tc'));
    assert.ok(tc.length >= 6);
    for (const a of tc) assert.equal(a[1], `--net=/run/netns/${t.namespaces.inet}`, a.join(' '));
    const text = tc.map((a) => a.join(' '));
    assert.ok(text.some((x) => x.includes('dev up0 parent 1: classid 1:1 htb rate 50000000bit ceil 50000000bit')), text.join('\n'));
    assert.ok(text.some((x) => x.includes('dev isp-up parent 1: classid 1:1 htb rate 10000000bit ceil 10000000bit')), text.join('\n'));
    assert.ok(text.some((x) => /dev up0 ingress .* mirred egress redirect dev isp-up$/.test(x)), text.join('\n'));
    // The bufferbloated modem: 200 ms at 50 Mbit/s.
    assert.ok(text.some((x) => x.endsWith(`bfifo limit ${fifoBytes(50_000_000, 200)}`)) && fifoBytes(50_000_000, 200) === 1_250_000);
    assert.ok(steps.some((a) => a.join(' ') === `ip -n ${t.namespaces.inet} link add isp-up type ifb`));
    // tc comes after the uplink exists and is up.
    const upIdx = steps.findIndex((a) => a.join(' ') === `ip -n ${t.namespaces.inet} link set up0 up`);
    assert.ok(upIdx >= 0 && upIdx < steps.indexOf(tc[0]!));
    assert.deepEqual(interfacesByNamespace(t)[t.namespaces.inet], ['up0', 'isp-up']);
  });

  it('refuses a bad bottleneck', () => {
    assert.throws(() => labTopology('t1', { bottleneck: { down: 'fast', up: '10mbit' } }), /lab rate/);
    assert.throws(() => labTopology('t1', { bottleneck: { down: '50mbit', up: '10mbit', bufferMs: 0 } }), /bufferMs/);
  });
});

describe('fairness figures', () => {
  it("Jain's index: 1 for equal shares, 1/n for one taker, in between otherwise", () => {
    assert.equal(jainIndex([5, 5, 5, 5]), 1);
    assert.equal(jainIndex([40, 0, 0, 0]), 0.25);
    assert.ok(Math.abs(jainIndex([16, 1, 1, 1]) - 361 / 1036) < 1e-12);
    assert.equal(jainIndex([0, 0]), 1);
    assert.throws(() => jainIndex([]));
    assert.throws(() => jainIndex([1, -1]));
  });

  it('nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(percentile(xs, 50), 50);
    assert.equal(percentile(xs, 99), 99);
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.deepEqual(summarize([1, 2, 3], 2), { samples: 3, lost: 2, p50: 2, p99: 3 });
  });
});

describe('iperf3 harness (argv and JSON)', () => {
  const t = labTopology('t1', { clients: 4 });

  it('downloads by default (-R), with the stream count and a fixed server address', () => {
    const a = iperfClientArgs(t, { ns: 't1-c1', port: 5202, streams: 16 }, { seconds: 10, omit: 3 });
    assert.deepEqual(a, ['-c', '198.51.100.10', '-p', '5202', '-t', '10', '-O', '3', '-P', '16', '--connect-timeout', '5000', '-J', '-R']);
    assert.ok(!iperfClientArgs(t, { ns: 't1-c1', port: 5202, direction: 'up' }, { seconds: 5 }).includes('-R'));
    assert.throws(() => iperfClientArgs(t, { ns: 't1-c1', port: 5202, streams: 0 }, { seconds: 5 }));
    assert.throws(() => iperfClientArgs(t, { ns: 't1-c1', port: 5202 }, { seconds: 0 }));
  });

  it('reads the receiver figure, and reports iperf3 errors clearly', () => {
    assert.deepEqual(parseIperfJson(JSON.stringify({ end: { sum_received: { bits_per_second: 1.5e7 }, sum_sent: { retransmits: 3 } } }), 'x'), { bps: 1.5e7, retransmits: 3 });
    assert.throws(() => parseIperfJson(JSON.stringify({ error: 'unable to connect to server: Connection refused' }), 'c1 → :5201'), /c1 → :5201: unable to connect/);
    assert.throws(() => parseIperfJson('iperf3: error', 'x'), /not JSON/);
  });

  it('recognises only its own lab servers by their log file', () => {
    const args = ['iperf3', ...iperfServerArgs(t, '/run/gatehouse-lab/t1', 5201)];
    assert.ok(isLabIperf(args, '/run/gatehouse-lab/t1'));
    assert.ok(!isLabIperf(args, '/run/gatehouse-lab/t2'));
    assert.ok(!isLabIperf(['iperf3', '-s'], '/run/gatehouse-lab/t1'));
  });
});
