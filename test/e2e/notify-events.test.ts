/*
 * Issue #13: each rule kind from the event that causes it, on the real bus and store, to a real webhook
 * receiver process on loopback: inbound burst, feed refused, LAPI unreachable (a crowdsec feed failing),
 * portal brute-force and P2P flag (the portal's and shaper's events, published as they publish them),
 * daemon restarted (clean, then after an unclean stop); templates for chat services.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventBus } from '../../src/events/index.js';
import type { BlockHit } from '../../src/store/index.js';
import { NotifyHarness } from './helpers/notify-harness.js';
import { Sink } from './helpers/notify-sink.js';

interface Body {
  kind: string;
  severity: string;
  subject: string;
  text: string;
  count: number;
  items: { data: Record<string, unknown> }[];
}

const bodies = (s: Sink, kind: string): Body[] => s.received.map((l) => JSON.parse(l.body!) as Body).filter((b) => b.kind === kind);

function inbound(remote: string, packets: number): BlockHit {
  return { direction: 'inbound', clientIp: '192.0.2.2', clientMac: null, clientName: null, remoteIp: remote, protocol: 'tcp', port: 22, mode: 'blocked', seenAt: Date.now(), packets, bytes: packets * 60, decisions: [] };
}

describe('notification rules from their events', { timeout: 120_000 }, () => {
  let hook: Sink;
  let chat: Sink;
  let h: NotifyHarness;
  /** The portal's and shaper's events are not on this branch's map: published untyped, as those modules do. */
  let loose: EventBus<Record<string, unknown>>;

  before(async () => {
    hook = await Sink.start(['http', '0']);
    chat = await Sink.start(['http', '0']);
    h = await NotifyHarness.open({});
    h.raw.feeds = [
      { name: 'firehol', type: 'url', url: 'http://127.0.0.1:1/list.txt' },
      { name: 'cs', type: 'crowdsec', url: 'http://127.0.0.1:1/', api_key: 'k' },
    ];
    h.raw.notify = {
      channels: {
        hook: { type: 'webhook', url: `http://127.0.0.1:${hook.port}/`, template: 'json' },
        slack: { type: 'webhook', url: `http://127.0.0.1:${chat.port}/slack`, template: 'slack' },
        ntfy: { type: 'webhook', url: `http://127.0.0.1:${chat.port}/ntfy`, template: 'ntfy' },
      },
      rules: [
        { kind: 'inbound_burst', channels: ['hook'], threshold: 50, window: '1m', group: '0s' },
        { kind: 'feed_problem', channels: ['hook'], group: '0s' },
        { kind: 'lapi_unreachable', channels: ['hook', 'ntfy'], group: '0s' },
        { kind: 'portal_bruteforce', channels: ['hook'], threshold: 5, group: '0s' },
        { kind: 'p2p_flagged', channels: ['hook', 'slack'], group: '0s' },
        { kind: 'daemon_restarted', channels: ['hook'], group: '0s' },
      ],
    };
    await h.start();
    loose = h.bus as unknown as EventBus<Record<string, unknown>>;
  });
  after(async () => {
    await h?.close();
    await hook?.stop();
    await chat?.stop();
  });

  test('inbound burst: one message when the threshold is crossed, naming the top attackers', async () => {
    h.bus.publish('firewall.blocked', [inbound('198.51.100.77', 30), inbound('198.51.100.78', 5)]);
    h.bus.publish('firewall.blocked', [inbound('198.51.100.77', 20)]);
    h.bus.publish('firewall.blocked', [inbound('198.51.100.77', 20)]);
    await hook.until(() => bodies(hook, 'inbound_burst').length >= 1, 10_000, 'the burst message');
    const b = bodies(hook, 'inbound_burst')[0]!;
    assert.match(b.text, /55 blocked inbound attempts/);
    assert.match(b.text, /198\.51\.100\.77 \(50\)/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(bodies(hook, 'inbound_burst').length, 1, 'once per window');
  });

  test('a refused list feed is a feed problem; a failing crowdsec feed is the LAPI unreachable, critical', async () => {
    h.bus.publish('feeds.refused', { feed: 'firehol', outcome: 'refused', message: 'the list shrank by 90 %', entries: 1000 });
    h.bus.publish('feeds.refused', { feed: 'cs', outcome: 'failed', message: 'connect ECONNREFUSED 127.0.0.1:1' });
    await hook.until(() => bodies(hook, 'feed_problem').length >= 1 && bodies(hook, 'lapi_unreachable').length >= 1, 10_000, 'both');
    assert.match(bodies(hook, 'feed_problem')[0]!.text, /feed firehol refused: the list shrank by 90 %/);
    const lapi = bodies(hook, 'lapi_unreachable')[0]!;
    assert.equal(lapi.severity, 'critical');
    assert.match(lapi.text, /ECONNREFUSED/);
    await chat.until(() => chat.received.some((l) => l.body!.includes('ECONNREFUSED')), 10_000, 'the ntfy message');
    const n = chat.received.find((l) => l.body!.includes('ECONNREFUSED'))!;
    assert.match(n.contentType!, /text\/plain/, 'ntfy takes plain text');
  });

  test('portal brute-force from one client; P2P flag from the shaper (slack template)', async () => {
    for (let i = 0; i < 6; i++) loose.publish('portal.login_failed', { client: '10.77.0.12', user: `guess${i}`, reason: 'bad_credentials', at: Date.now() });
    loose.publish('portal.login_failed', { client: '10.77.0.13', reason: 'bad_credentials', at: Date.now() });
    await hook.until(() => bodies(hook, 'portal_bruteforce').length >= 1, 10_000, 'the brute-force message');
    const bf = bodies(hook, 'portal_bruteforce');
    assert.equal(bf.length, 1, 'only the client over the threshold');
    assert.match(bf[0]!.text, /5 failed portal logins from 10\.77\.0\.12.*guess0/);

    loose.publish('shaper.p2p_flagged', { client: '10.77.0.11', evidence: { signatures: ['bittorrent-handshake', 'dht'], peers: 42, tcpAndUdp: true, since: 0, until: 1 } });
    await chat.until(() => chat.received.some((l) => l.body!.includes('P2P')), 10_000, 'the slack message');
    const slack = JSON.parse(chat.received.find((l) => l.body!.includes('P2P'))!.body!) as { text: string };
    assert.match(slack.text, /10\.77\.0\.11 flagged for P2P \(signatures bittorrent-handshake, dht, 42 peers\)/);
  });

  test('daemon restarted: clean after a stop, unclean after a crash', async () => {
    await hook.until(() => bodies(hook, 'daemon_restarted').length >= 1, 10_000, 'the first start');
    assert.match(bodies(hook, 'daemon_restarted')[0]!.text, /started$/);
    await h.stopModule();
    await h.start();
    await hook.until(() => bodies(hook, 'daemon_restarted').length >= 2, 10_000, 'the clean restart');
    assert.equal(bodies(hook, 'daemon_restarted')[1]!.severity, 'info');
    // A crash: the module never runs its stop; the store still says "running".
    h.running = undefined;
    await h.start();
    await hook.until(() => bodies(hook, 'daemon_restarted').length >= 3, 10_000, 'the unclean restart');
    const last = bodies(hook, 'daemon_restarted')[2]!;
    assert.equal(last.severity, 'warning');
    assert.match(last.text, /unclean stop/);
  });
});
