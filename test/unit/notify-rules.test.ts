/*
 * Issue #13: what a notification rule does with notices over time — grouping window, cooldown, quiet
 * hours, minimum severity — on the scheduler's manual clock; the retry backoff; quiet-hour arithmetic.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderDigest } from '../../src/notify/digest.js';
import { Grouper } from '../../src/notify/grouper.js';
import { backoffMs } from '../../src/notify/queue.js';
import { afterQuiet, nextAt, parseQuietHours } from '../../src/notify/time-of-day.js';
import type { Message, Notice, Severity } from '../../src/notify/types.js';
import type { RuleConfig } from '../../src/notify/config.js';
import { ManualClock } from '../../src/scheduler/index.js';
import type { BlockEvent } from '../../src/store/index.js';

const local = (h: number, mi = 0) => new Date(2026, 2, 10, h, mi).getTime();
const S = 1000;

function rule(over: Partial<RuleConfig> = {}): RuleConfig {
  return { kind: 'outbound_block_new', group: 60 * S, cooldown: 600 * S, min_severity: 'info', window: 60 * S, ...over } as RuleConfig;
}

function notice(clock: ManualClock, key: string, text: string, severity: Severity = 'warning'): Notice {
  return { kind: 'outbound_block_new', severity, key, text, at: clock.now(), data: {} };
}

function setup(rules: RuleConfig[], start = local(12)) {
  const clock = new ManualClock(start);
  const sent: { at: number; m: Message; channels: readonly string[] | undefined }[] = [];
  const g = new Grouper(rules, clock, (m, channels) => sent.push({ at: clock.now(), m, channels }));
  return { clock, sent, g };
}

describe('notification rules', () => {
  it('groups a burst of one client into one message after the window; another client gets its own', async () => {
    const { clock, sent, g } = setup([rule({ channels: ['mail'] })]);
    for (let i = 0; i < 40; i++) {
      g.offer(notice(clock, 'alice', `remote ${i}`));
      await clock.advance(S);
    }
    g.offer(notice(clock, 'bob', 'bob remote'));
    assert.equal(sent.length, 0, 'nothing before the window ends');
    await clock.advance(21 * S);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.at, local(12, 1), 'one window after the first notice');
    assert.equal(sent[0]!.m.items.length, 40);
    assert.match(sent[0]!.m.subject, /alice: 40 new outbound blocks/);
    assert.deepEqual(sent[0]!.channels, ['mail']);
    await clock.advance(60 * S);
    assert.equal(sent.length, 2);
    assert.equal(sent[1]!.m.items.length, 1);
    assert.match(sent[1]!.m.subject, /^New outbound block: bob remote/);
  });

  it('holds what comes during the cooldown and sends it when the cooldown ends, nothing lost', async () => {
    const { clock, sent, g } = setup([rule({ group: 0, cooldown: 600 * S })]);
    g.offer(notice(clock, 'alice', 'first'));
    await clock.advance(0);
    assert.equal(sent.length, 1, 'a zero window sends at once');
    await clock.advance(100 * S);
    g.offer(notice(clock, 'alice', 'second'));
    g.offer(notice(clock, 'alice', 'third'));
    await clock.advance(400 * S);
    assert.equal(sent.length, 1, 'still cooling down');
    await clock.advance(100 * S);
    assert.equal(sent.length, 2);
    assert.equal(sent[1]!.at - sent[0]!.at, 600 * S);
    assert.deepEqual(sent[1]!.m.items.map((i) => i.text), ['second', 'third']);
  });

  it('waits out quiet hours, except for critical notices', async () => {
    const { clock, sent, g } = setup([rule({ group: 10 * S, quiet_hours: '23:00-07:00' })], local(23, 30));
    g.offer(notice(clock, 'alice', 'at night'));
    await clock.advance(3600 * S);
    assert.equal(sent.length, 0, 'held during quiet hours');
    await clock.advance(7 * 3600 * S);
    assert.equal(sent.length, 1);
    assert.equal(new Date(sent[0]!.at).getHours(), 7);
    assert.equal(new Date(sent[0]!.at).getMinutes(), 0);

    const night = setup([rule({ kind: 'lapi_unreachable', group: 10 * S, quiet_hours: '23:00-07:00' })], local(23, 30));
    night.g.offer({ ...notice(night.clock, 'lapi', 'down', 'critical'), kind: 'lapi_unreachable' });
    await night.clock.advance(10 * S);
    assert.equal(night.sent.length, 1, 'critical goes out at once');
    assert.equal(night.sent[0]!.m.severity, 'critical');
  });

  it('drops what is below the minimum severity, and kinds without a rule', async () => {
    const { clock, sent, g } = setup([rule({ group: 0, min_severity: 'warning' })]);
    g.offer(notice(clock, 'alice', 'minor', 'info'));
    g.offer({ ...notice(clock, 'x', 'p2p'), kind: 'p2p_flagged' });
    await clock.advance(3600 * S);
    assert.equal(sent.length, 0);
    g.offer(notice(clock, 'alice', 'major', 'warning'));
    await clock.advance(0);
    assert.equal(sent.length, 1);
  });

  it('retries wait 5 s, doubling, up to the cap', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => backoffMs(n, 120_000)), [5000, 10000, 20000, 40000, 80000, 120000, 120000]);
  });

  it('quiet hours and times of day in local time', () => {
    const q = parseQuietHours('22:30-06:15');
    assert.equal(afterQuiet(local(12), q), local(12));
    assert.equal(afterQuiet(local(23), q), new Date(2026, 2, 11, 6, 15).getTime());
    assert.equal(afterQuiet(local(5), q), local(6, 15));
    assert.equal(nextAt(local(6, 59), 7 * 60), local(7));
    assert.equal(nextAt(local(7), 7 * 60), new Date(2026, 2, 11, 7, 0).getTime(), 'strictly after');
    assert.throws(() => parseQuietHours('25:00-07:00'), /HH:MM/);
    assert.throws(() => parseQuietHours('07:00-07:00'), /same time/);
  });
});

describe('daily digest', () => {
  it('renders 50,000 rows of one noisy client with the right totals (no per-row copying)', () => {
    const row = (i: number, clientIp: string, count: number): BlockEvent => ({
      id: i, direction: 'outbound', clientIp, clientMac: null, clientName: null, remoteIp: `203.0.${(i >> 8) & 255}.${i & 255}`,
      protocol: 'tcp', port: 443, mode: 'blocked', firstSeen: 0, lastSeen: 0, count, bytes: 0, decisions: [], domain: null,
    });
    const blocks: BlockEvent[] = [];
    for (let i = 0; i < 50_000; i++) blocks.push(row(i, '192.168.1.50', i === 7 ? 100 : 2));
    blocks.push(row(50_000, '192.168.1.60', 5));
    const started = performance.now();
    const m = renderDigest({ from: 0, to: 86_400_000, blocks, feeds: [], attention: [] }, 0);
    assert.ok(performance.now() - started < 2000, 'well under two seconds');
    const lines = m.text.split('\n');
    assert.equal(lines[0], 'Outbound blocks: 100103 attempts from 2 client(s)');
    assert.equal(lines[1], '  192.168.1.50: 100098 attempts to 50000 remote(s)');
    assert.match(lines[2]!, /^ {4}203\.0\.0\.7 ×100 /, 'the client\'s busiest remote first');
    assert.equal(lines[12], '  192.168.1.60: 5 attempts to 1 remote(s)');
    assert.match(m.subject, /: 100103 outbound, 0 inbound blocks$/);
  });
});
