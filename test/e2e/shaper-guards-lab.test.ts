/**
 * Issue #12, hog guards (s2's rules in the lab gateway's table): a client that opens more than
 * `max_connections` gets the ones beyond the cap refused at once (TCP reset, UDP ICMP admin-prohibited: fast,
 * not a hang), while another client opening connections at the same time is unaffected; the refusals are
 * recorded per client and come out as `shaper.cap_hit` events. A download past 10 MB gets the elephant bit
 * (conntrack accounting on), a small one does not; a new-connection storm is held back for its client only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEventBus, type GatehouseEvents } from '../../src/events/index.js';
import { createCapWatcher, GUARD_SETS } from '../../src/shaper/guards/index.js';
import { nsExec } from '../../src/lab/ns.js';
import { parseConntrack } from '../../src/shaper/p2p/index.js';
import { HOLD, isRoot, PEERS, SwarmLab, WEB_HOST } from './helpers/swarm-lab.js';

const CAP = 5;

describe('shaper hog guards in the lab', { skip: isRoot ? undefined : 'needs root (network namespaces, nftables)', timeout: 120_000 }, () => {
  let lab: SwarmLab;
  let c1: string;
  let c2: string;

  before(async () => {
    lab = await SwarmLab.start('sp', { p2p: 'off', maxConnections: CAP });
    c1 = lab.lab.topology.clients[0].ipv4;
    c2 = lab.lab.topology.clients[1].ipv4;
    await lab.serve({ peers: PEERS.slice(0, 2), hold: [HOLD], web: [{ host: WEB_HOST, port: 80 }] });
  });
  after(async () => {
    await lab?.close();
  });

  it('(first, while both are far below the cap) a download past 10 MB becomes an elephant (conntrack mark bit 2); a small one does not', async () => {
    for (const [who, bytes] of [[0, 12_000_000], [1, 1_000_000]] as const) {
      const r = await lab.client(who, { peers: [], mode: 'plain', tcp: false, udp: false, downloads: [`http://${WEB_HOST}/bytes/${bytes}`] });
      assert.deepEqual(r.downloads.map((d) => d.ok), [true]);
    }
    const flows = parseConntrack((await nsExec(lab.gw, 'conntrack', ['-L', '-o', 'extended', '-p', 'tcp', '--dport', '80'])).stdout).flows;
    const markOf = (src: string): number | undefined => flows.find((f) => f.orig.src === src && f.orig.dst === WEB_HOST)?.mark;
    assert.equal(markOf(c1), 2, 'the 12 MB download');
    assert.equal(markOf(c2), 0, 'the 1 MB download');
  });

  it('TCP beyond max_connections is refused fast for that client only', async () => {
    const [hog, other] = await Promise.all([
      lab.hold(0, { target: HOLD, count: 2 * CAP, proto: 'tcp', holdMs: 3000 }),
      lab.hold(1, { target: HOLD, count: CAP, proto: 'tcp', holdMs: 3000 }),
    ]);
    process.stdout.write(`# c1 ${JSON.stringify(hog)}; c2 ${JSON.stringify(other)}\n`);
    assert.deepEqual([hog.ok, hog.refused, hog.other], [CAP, CAP, 0]);
    assert.ok(hog.slowestRefusalMs < 1000, `refusals took up to ${hog.slowestRefusalMs} ms: a reset, not a timeout`);
    assert.deepEqual([other.ok, other.refused, other.other], [CAP, 0, 0]);
  });

  it('UDP flows count too and are refused beyond the cap; the other client is unaffected', async () => {
    const [hog, other] = await Promise.all([
      lab.hold(0, { target: PEERS[0]!, count: CAP + 3, proto: 'udp', holdMs: 1000, timeoutMs: 3000 }),
      lab.hold(1, { target: PEERS[1]!, count: CAP - 1, proto: 'udp', holdMs: 1000, timeoutMs: 3000 }),
    ]);
    assert.deepEqual([hog.ok, hog.refused], [CAP, 3]);
    assert.deepEqual([other.ok, other.refused], [CAP - 1, 0]);
  });

  it('the refusals are recorded per client and published once as shaper.cap_hit', async () => {
    const bus = createEventBus<GatehouseEvents>();
    const hits: GatehouseEvents['shaper.cap_hit'][] = [];
    bus.subscribe('shaper.cap_hit', (e) => hits.push(e));
    const watcher = createCapWatcher({ runtime: lab.runtime(), caps: ['max_connections', 'new_connections_per_second'], events: bus });
    await watcher.poll();
    await watcher.poll();
    assert.deepEqual(hits.map((h) => [h.client, h.cap]), [[c1, 'max_connections']]);
    assert.ok(hits[0]!.refused >= CAP + 3, `counted ${hits[0]!.refused} refused packets`);
    assert.deepEqual(watcher.hitsFor(c2), []);
    assert.deepEqual(await lab.setElements(GUARD_SETS.capConn4), [c1]);
  });
});

describe('shaper new-connection rate guard in the lab', { skip: isRoot ? undefined : 'needs root (network namespaces, nftables)', timeout: 120_000 }, () => {
  let lab: SwarmLab;

  before(async () => {
    lab = await SwarmLab.start('sp', { p2p: 'off', newConnectionsPerSecond: 5 });
    await lab.serve({ peers: [], hold: [HOLD] });
  });
  after(async () => {
    await lab?.close();
  });

  it('a burst of new connections beyond the rate is held back for that client only, and recorded', async () => {
    // 700 ms: before the first SYN retransmission, so a dropped SYN shows as a connection still pending.
    const [storm, calm] = await Promise.all([
      lab.hold(0, { target: HOLD, count: 30, proto: 'tcp', holdMs: 500, timeoutMs: 700 }),
      lab.hold(1, { target: HOLD, count: 4, proto: 'tcp', holdMs: 500, timeoutMs: 700 }),
    ]);
    process.stdout.write(`# storm ${JSON.stringify(storm)}; calm ${JSON.stringify(calm)}\n`);
    assert.ok(storm.ok >= 5 && storm.ok <= 10, `${storm.ok} of 30 got through at 5/s with a burst of 5`);
    assert.equal(storm.refused, 0, 'held back (dropped, retried by TCP), not refused');
    assert.equal(calm.ok, 4);
    const hits: GatehouseEvents['shaper.cap_hit'][] = [];
    const bus = createEventBus<GatehouseEvents>();
    bus.subscribe('shaper.cap_hit', (e) => hits.push(e));
    await createCapWatcher({ runtime: lab.runtime(), caps: ['max_connections', 'new_connections_per_second'], events: bus }).poll();
    assert.deepEqual(hits.map((h) => [h.client, h.cap]), [[lab.lab.topology.clients[0].ipv4, 'new_connections_per_second']]);
  });
});
