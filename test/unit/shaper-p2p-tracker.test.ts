/**
 * The P2P tracker's bookkeeping with a clock of its own: signature evidence from the kernel's sets and the
 * behaviour heuristic from conntrack text combine into one evidence per client, a client is announced once
 * per flagging (again only after it expired), a behaviour-flagged client is put into the kernel's client set
 * with the hold time, and a failing conntrack is an error of that round, not a silent "no P2P".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEventBus, type GatehouseEvents } from '../../src/events/index.js';
import type { ListedElement, RuntimeOp } from '../../src/firewall/index.js';
import { createP2pTracker, P2P_SETS } from '../../src/shaper/p2p/index.js';

function conntrackText(client: string, peers: number, both: number): string {
  const lines: string[] = [];
  for (let i = 0; i < peers; i++) {
    const peer = `198.51.100.${i + 1}`;
    lines.push(`ipv4     2 tcp      6 299 ESTABLISHED src=${client} dst=${peer} sport=${40000 + i} dport=${20000 + i} packets=3 bytes=200 src=${peer} dst=192.0.2.2 sport=${20000 + i} dport=${40000 + i} packets=2 bytes=100 [ASSURED] mark=0 use=1`);
    if (i < both) lines.push(`ipv4     2 udp      17 29 src=${client} dst=${peer} sport=${50000 + i} dport=${20000 + i} packets=1 bytes=84 src=${peer} dst=192.0.2.2 sport=${20000 + i} dport=${50000 + i} packets=1 bytes=75 mark=0 use=1`);
  }
  return lines.join('\n') + '\n';
}

describe('P2P tracker', () => {
  it('combines kernel signatures and behaviour, announces once, flags behaviour in the kernel, expires', async () => {
    let t = 1_000_000;
    let sig: ListedElement[] = [{ key: ['10.0.0.5', '1'], expiresSec: 600 }, { key: ['10.0.0.5', '2'], expiresSec: 590 }, { key: ['10.0.0.5', '99'] }];
    let ct = conntrackText('10.0.0.6', 25, 4);
    const applied: RuntimeOp[][] = [];
    const bus = createEventBus<GatehouseEvents>();
    const events: GatehouseEvents['shaper.p2p_flagged'][] = [];
    bus.subscribe('shaper.p2p_flagged', (e) => events.push(e));
    const tracker = createP2pTracker({
      runtime: {
        list: async (name) => (name === P2P_SETS.sig4 ? sig : []),
        apply: async (ops) => void applied.push([...ops]),
      },
      exec: async (cmd, args) => {
        assert.equal(cmd, 'conntrack');
        return { code: 0, stdout: args.includes('ipv4') ? ct : '', stderr: '' };
      },
      events: bus,
      now: () => t,
    });

    await tracker.poll();
    assert.deepEqual(tracker.evidenceFor('10.0.0.5'), { signatures: ['bittorrent-handshake', 'dht'], peers: 0, tcpAndUdp: false, since: t, until: t + 600_000 });
    assert.deepEqual(tracker.evidenceFor('10.0.0.6'), { signatures: [], peers: 25, tcpAndUdp: true, since: t, until: t + 600_000 });
    assert.deepEqual(events.map((e) => e.client).sort(), ['10.0.0.5', '10.0.0.6']);
    assert.deepEqual(applied, [[{ op: 'replace', set: P2P_SETS.clients4, elements: [{ key: ['10.0.0.6'], timeoutSec: 600 }] }]]);

    t += 60_000;
    await tracker.poll();
    assert.equal(events.length, 2, 'no second announcement while flagged');
    assert.equal(tracker.evidenceFor('10.0.0.6')?.since, t - 60_000, 'since stays the first sighting');

    // Ten minutes without evidence: both expire.
    sig = [];
    ct = '';
    t += 11 * 60_000;
    await tracker.poll();
    assert.equal(tracker.flagged().size, 0);
    assert.equal(tracker.evidenceFor('10.0.0.5'), undefined);

    sig = [{ key: ['10.0.0.5', '3'], expiresSec: 600 }];
    await tracker.poll();
    assert.deepEqual(events.slice(2).map((e) => [e.client, e.evidence.signatures]), [['10.0.0.5', ['utp']]], 'announced again after it expired');
  });

  it('a browsing client is never flagged, and a failing conntrack fails the round', async () => {
    const web = Array.from({ length: 50 }, (_, i) => `ipv4 2 tcp 6 299 ESTABLISHED src=10.0.0.7 dst=203.0.113.${i + 1} sport=${40000 + i} dport=443 src=203.0.113.${i + 1} dst=192.0.2.2 sport=443 dport=${40000 + i} mark=0 use=1`).join('\n');
    let code = 0;
    const applied: RuntimeOp[][] = [];
    const tracker = createP2pTracker({
      runtime: { list: async () => [], apply: async (ops) => void applied.push([...ops]) },
      exec: async () => ({ code, stdout: code === 0 ? web : '', stderr: code === 0 ? '' : 'conntrack: Operation not permitted' }),
    });
    await tracker.poll();
    assert.equal(tracker.flagged().size, 0);
    assert.deepEqual(applied, []);
    code = 1;
    await assert.rejects(tracker.poll(), /conntrack -L -f ipv4 failed: conntrack: Operation not permitted/);
  });
});
