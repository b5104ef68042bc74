/*
 * Issue #13: the daily digest at notify.digest, driven by the scheduler's test clock, delivered to a real
 * SMTP server (smtp-server, its own process on loopback) from the notify module on a real store.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManualClock } from '../../src/scheduler/index.js';
import { BlockEventRepo, type BlockHit } from '../../src/store/index.js';
import { NotifyHarness } from './helpers/notify-harness.js';
import { Sink } from './helpers/notify-sink.js';

const local = (y: number, mo: number, d: number, h: number, mi = 0) => new Date(y, mo - 1, d, h, mi).getTime();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hit(over: Partial<BlockHit>): BlockHit {
  return {
    direction: 'outbound',
    clientIp: '10.77.0.10',
    clientMac: '02:77:00:00:00:10',
    clientName: 'alice-laptop',
    remoteIp: '203.0.113.66',
    protocol: 'tcp',
    port: 443,
    mode: 'blocked',
    seenAt: local(2026, 3, 9, 14),
    packets: 3,
    bytes: 180,
    decisions: [{ id: 1, origin: 'feed:phishing_db', scenario: '', reason: 'phishing' }],
    domain: 'amazon-signin.example',
    ...over,
  };
}

describe('the daily digest', { timeout: 120_000 }, () => {
  let smtp: Sink;
  let h: NotifyHarness;
  const clock = new ManualClock(local(2026, 3, 10, 6, 0));

  before(async () => {
    smtp = await Sink.start(['smtp', '0', 'digest', 'pw']);
    h = await NotifyHarness.open({}, clock);
    const pass = join(h.dir, 'pass');
    await writeFile(pass, 'pw');
    // The harness reads its notify section at start: set it now that the port is known.
    h.raw.notify = {
      channels: { mail: { type: 'email', host: '127.0.0.1', port: smtp.port, starttls: false, user: 'digest', password_file: pass, from: 'gw@lab.example', to: 'admin@lab.example' } },
      digest: '07:00',
    };
    const blocks = new BlockEventRepo(h.store.db);
    blocks.record([
      hit({}),
      hit({ remoteIp: '198.51.100.20', domain: 'ads.example', decisions: [{ id: 2, origin: 'manual', scenario: '', reason: 'tracker' }], packets: 1 }),
      hit({ clientIp: '10.77.0.11', clientName: 'bob-phone', clientMac: '02:77:00:00:00:11', packets: 1 }),
      hit({ direction: 'inbound', clientIp: '192.0.2.2', clientName: null, clientMac: null, remoteIp: '198.51.100.77', port: 22, packets: 40, domain: undefined, decisions: [{ id: 3, origin: 'crowdsec', scenario: 'ssh-bf', reason: 'ssh brute force' }] }),
      // Two days ago: not yesterday's.
      hit({ remoteIp: '198.51.100.99', seenAt: local(2026, 3, 7, 12), domain: 'old.example' }),
    ]);
    await h.start();
  });
  after(async () => {
    await h?.close();
    await smtp?.stop();
  });

  test('goes out at its time with yesterday in one message, once a day, and after a downtime', async () => {
    await clock.advance(59 * 60_000);
    await sleep(1500);
    assert.equal(smtp.received.length, 0, 'nothing before 07:00');

    await clock.advance(2 * 60_000);
    await smtp.until(() => smtp.received.length >= 1, 20_000, 'the digest');
    const m = smtp.received[0]!;
    assert.match(m.subject!, /Daily digest for 2026-03-09: 5 outbound, 40 inbound blocks/);
    assert.match(m.body!, /alice-laptop \(10\.77\.0\.10\): 4 attempts to 2 remote/);
    assert.match(m.body!, /203\.0\.113\.66 \(amazon-signin\.example\) ×3 — feed:phishing_db: phishing/);
    assert.match(m.body!, /bob-phone/);
    assert.match(m.body!, /198\.51\.100\.77 ×40 — crowdsec\/ssh-bf: ssh brute force/);
    assert.doesNotMatch(m.body!, /old\.example/, 'two days ago is not yesterday');

    // A restart later that morning does not send it again; the next one comes the next day.
    await h.stopModule();
    await clock.advance(30 * 60_000);
    await h.start();
    await clock.advance(60_000);
    await sleep(1500);
    assert.equal(smtp.received.length, 1, 'not twice for one day');
    await clock.advance(24 * 3_600_000);
    await smtp.until(() => smtp.received.length >= 2, 20_000, 'the next day\'s digest');
    assert.match(smtp.received[1]!.subject!, /Daily digest for 2026-03-10: 0 outbound, 0 inbound blocks/);

    // Down over the next 07:00: the missed digest goes out when the daemon is back.
    await h.stopModule();
    await clock.advance(25 * 3_600_000);
    await sleep(500);
    assert.equal(smtp.received.length, 2, 'nothing while down');
    await h.start();
    await clock.advance(0);
    await smtp.until(() => smtp.received.length >= 3, 20_000, 'the missed digest');
    assert.match(smtp.received[2]!.subject!, /Daily digest for 2026-03-11/);
  });

  test('a first start after the digest time sends nothing until the next day', async () => {
    const clock2 = new ManualClock(local(2026, 3, 10, 9, 0));
    const fresh = await NotifyHarness.open({}, clock2);
    try {
      fresh.raw.notify = h.raw.notify;
      await fresh.start();
      const before = smtp.received.length;
      await clock2.advance(60_000);
      await sleep(1000);
      assert.equal(smtp.received.length, before, 'no digest at the first start');
      await clock2.advance(22 * 3_600_000);
      await smtp.until(() => smtp.received.length > before, 20_000, 'the next morning\'s digest');
      assert.match(smtp.received.at(-1)!.subject!, /Daily digest for 2026-03-10/);
    } finally {
      await fresh.close();
    }
  });
});
