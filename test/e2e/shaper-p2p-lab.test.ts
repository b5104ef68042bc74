/**
 * Issue #12, P2P made unattractive (s2's part, with a stand-in for s1's classification): a LAN client running
 * a BitTorrent-like swarm (real handshakes, DHT pings, uTP SYNs to 24 lab peers) gets its peer flows into the
 * penalty class — the download side's HTB class counters show where the bytes went — while its own plain
 * HTTP download on tcp/80 stays in the normal class; nothing is blocked. Later "encrypted" flows to the
 * remembered peers follow them into the penalty class even from another client, and the flagged client's
 * unclassified high-port flows do, while the other client's do not. Then the behaviour heuristic flags a
 * client whose swarm is all noise (no signature) from conntrack, and says why.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEventBus, type GatehouseEvents } from '../../src/events/index.js';
import { createP2pTracker, P2P_SETS } from '../../src/shaper/p2p/index.js';
import { FRESH_PEERS, isRoot, PEERS, PEERS6, SEED_BYTES, SwarmLab, WEB_HOST } from './helpers/swarm-lab.js';

const MB = 1_000_000;

describe('shaper P2P detection in the lab', { skip: isRoot ? undefined : 'needs root (network namespaces, nftables, tc)', timeout: 180_000 }, () => {
  let lab: SwarmLab;
  let c1: string;
  let c2: string;

  before(async () => {
    lab = await SwarmLab.start('sp', { p2p: 'throttle' });
    c1 = lab.lab.topology.clients[0].ipv4;
    c2 = lab.lab.topology.clients[1].ipv4;
    await lab.serve({ peers: [...PEERS, ...FRESH_PEERS, ...PEERS6], web: [{ host: WEB_HOST, port: 80 }, { host: WEB_HOST, port: 9000 }] });
  });
  after(async () => {
    await lab?.close();
  });

  it('a swarm lands in the penalty class while the same client\'s tcp/80 download does not; nothing is blocked', async () => {
    const before = await lab.classBytes();
    const r = await lab.client(0, { peers: PEERS, mode: 'plain', tcp: true, udp: true, utp: true, downloads: [`http://${WEB_HOST}/bytes/${4 * MB}`] });
    const after = await lab.classBytes();
    // Nothing blocked: every peer answered the handshake and sent its piece, every DHT ping and uTP SYN was answered.
    for (const p of r.peers) {
      assert.equal(p.tcp?.outcome, 'ok', `${p.peer.host}:${p.peer.port} tcp`);
      assert.equal(p.tcp?.handshake, true);
      assert.equal(p.tcp?.bytes, 68 + SEED_BYTES);
      assert.equal(p.udp?.answered, true, `${p.peer.host} DHT`);
      assert.equal(p.utp?.answered, true, `${p.peer.host} uTP`);
    }
    assert.deepEqual(r.downloads.map((d) => d.ok), [true]);
    const swarmBytes = PEERS.length * SEED_BYTES;
    const p2p = after.p2p - before.p2p;
    const normal = after.normal - before.normal;
    process.stdout.write(`# class bytes: penalty +${p2p} (swarm sent ${swarmBytes}), normal +${normal} (download ${4 * MB})\n`);
    assert.ok(p2p >= swarmBytes, `penalty class got ${p2p} bytes, the swarm sent ${swarmBytes}`);
    assert.ok(p2p < swarmBytes + MB, `penalty class got ${p2p} bytes: the 4 MB web download went there too`);
    assert.ok(normal >= 4 * MB, `normal class got ${normal} bytes, the download was ${4 * MB}`);

    // What the kernel remembered: the client with its signatures, the peers' endpoints.
    const sig = await lab.setElements(P2P_SETS.sig4);
    for (const code of [1, 2, 3]) assert.ok(sig.includes(`${c1} . 0x0000000${code}`), `signature ${code} for ${c1} in ${sig.join(', ')}`);
    assert.ok((await lab.setElements(P2P_SETS.clients4)).includes(c1));
    const peers = await lab.setElements(P2P_SETS.peers4);
    for (const p of PEERS) assert.ok(peers.includes(`${p.host} . ${p.port}`), `peer ${p.host}:${p.port} remembered`);
    assert.ok(!(await lab.setElements(P2P_SETS.clients4)).includes(c2));
  });

  it('encrypted flows to remembered peers follow them, even from another client; only the flagged client\'s high ports are penalised', async () => {
    // c2 never sent a signature: its noise to the remembered peer endpoints is P2P by peer memory alone.
    let before = await lab.classBytes();
    const r = await lab.client(1, { peers: PEERS.slice(0, 8), mode: 'encrypted', tcp: true, udp: false });
    let after = await lab.classBytes();
    assert.ok(r.peers.every((p) => p.tcp?.outcome === 'ok' && p.tcp.bytes === 68 + SEED_BYTES));
    assert.ok(after.p2p - before.p2p >= 8 * SEED_BYTES, `penalty +${after.p2p - before.p2p}`);

    // An unclassified high port (9000): penalised for the flagged c1, normal for c2; port 80 normal for both.
    const dl = (port: number) => [`http://${WEB_HOST}:${port}/bytes/${2 * MB}`];
    const cases: [0 | 1, number, 'p2p' | 'normal'][] = [[0, 9000, 'p2p'], [1, 9000, 'normal'], [0, 80, 'normal']];
    for (const [who, port, want] of cases) {
      before = await lab.classBytes();
      const d = await lab.client(who, { peers: [], mode: 'plain', tcp: false, udp: false, downloads: dl(port) });
      after = await lab.classBytes();
      assert.deepEqual(d.downloads.map((x) => x.ok), [true], `c${who + 1} port ${port} download works`);
      const got = { p2p: after.p2p - before.p2p, normal: after.normal - before.normal };
      const other = want === 'p2p' ? 'normal' : 'p2p';
      assert.ok(got[want] >= 2 * MB && got[other] < MB / 2, `c${who + 1} port ${port}: ${JSON.stringify(got)}, want the bytes in ${want}`);
    }
  });

  it('the behaviour heuristic flags a client whose swarm carries no signature, with evidence, and the kernel then penalises it', async () => {
    const bus = createEventBus<GatehouseEvents>();
    const flagged: GatehouseEvents['shaper.p2p_flagged'][] = [];
    bus.subscribe('shaper.p2p_flagged', (e) => flagged.push(e));
    const tracker = createP2pTracker({ runtime: lab.runtime(), exec: lab.exec(), events: bus });
    // c2: noise over TCP and UDP to 24 hosts on endpoints no signature named.
    const r = await lab.client(1, { peers: FRESH_PEERS, mode: 'encrypted', tcp: true, udp: true });
    assert.ok(r.peers.every((p) => p.tcp?.outcome === 'ok' && p.udp?.answered === true), 'nothing blocked');
    assert.ok(!(await lab.setElements(P2P_SETS.clients4)).includes(c2), 'no signature, so not flagged in the kernel yet');
    await tracker.poll();
    const ev = tracker.evidenceFor(c2);
    assert.ok(ev, `c2 flagged; behaviour: ${JSON.stringify(tracker.behaviourOf(c2))}`);
    assert.deepEqual(ev.signatures, []);
    assert.ok(ev.peers >= 20 && ev.tcpAndUdp, JSON.stringify(ev));
    // c1 is flagged from the kernel's signature evidence.
    assert.deepEqual(tracker.evidenceFor(c1)?.signatures, ['bittorrent-handshake', 'dht', 'utp']);
    assert.deepEqual(flagged.map((f) => f.client).sort(), [c1, c2].sort());
    assert.ok((await lab.setElements(P2P_SETS.clients4)).includes(c2), 'the tracker put c2 in the kernel set');
    await tracker.poll();
    assert.equal(flagged.length, 2, 'flagged once, not at every poll');
    // From now on c2's unclassified high ports are penalised too.
    const before = await lab.classBytes();
    const d = await lab.client(1, { peers: [], mode: 'plain', tcp: false, udp: false, downloads: [`http://${WEB_HOST}:9000/bytes/${MB}`] });
    const after = await lab.classBytes();
    assert.deepEqual(d.downloads.map((x) => x.ok), [true]);
    assert.ok(after.p2p - before.p2p >= MB, `penalty +${after.p2p - before.p2p}`);
  });

  it('IPv6 peers and a LAN multicast LSD announce are recognised too', async () => {
    const c1v6 = lab.lab.topology.clients[0].ipv6;
    const before = await lab.classBytes();
    const r = await lab.client(0, { peers: PEERS6, mode: 'plain', tcp: true, udp: true, lsd: true });
    const after = await lab.classBytes();
    assert.ok(r.peers.every((p) => p.tcp?.outcome === 'ok' && p.tcp.handshake && p.udp?.answered === true), JSON.stringify(r.peers));
    assert.ok(after.p2p - before.p2p >= PEERS6.length * SEED_BYTES, `penalty +${after.p2p - before.p2p}`);
    const sig6 = await lab.setElements(P2P_SETS.sig6);
    for (const code of [1, 2]) assert.ok(sig6.includes(`${c1v6} . 0x0000000${code}`), sig6.join(', '));
    const peers6 = await lab.setElements(P2P_SETS.peers6);
    for (const p of PEERS6) assert.ok(peers6.includes(`${p.host} . ${p.port}`), `${p.host} in ${peers6.join(', ')}`);
    assert.ok((await lab.setElements(P2P_SETS.sig4)).includes(`${c1} . 0x00000005`), 'LSD announce seen');
  });
});
