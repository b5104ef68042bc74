/**
 * The HTB tree as tc lines: what each line creates, that only checked values get in, and the class ids the
 * nft maps point to.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchText, classid, clientChangeLines, clientLines, clientRemoveLines, fifoLimit, leafMinor, parentMinor, rootLines, shareOf, slotOfMinor, teardownArgv, MAX_SLOTS, type DeviceSpec } from '../../src/shaper/htb.js';

const lan: DeviceSpec = { dev: 'br-lan', dir: 'down', linkBps: 50e6, leaf: 'pfifo' };
const line = (l: readonly string[]) => l.join(' ');

describe('shaper HTB rendering', () => {
  it('root: htb with the gateway class as default, the link class at the link rate, the default class under it', () => {
    const lines = rootLines(lan).map(line);
    assert.match(lines[0]!, /^qdisc replace dev br-lan root handle 1: htb default 3 r2q 100$/);
    assert.match(lines[1]!, /^class replace dev br-lan parent 1:0 classid 1:1 htb rate 50000000bit ceil 50000000bit /);
    assert.match(lines[2]!, /^class replace dev br-lan parent 1:1 classid 1:2 htb rate 500000bit ceil 50000000bit .* prio 1/);
    // The gateway's own class hangs off the root, not the link: its traffic does not use residents' capacity.
    assert.ok(lines.some((l) => /^class replace dev br-lan parent 1:0 classid 1:3 /.test(l)));
  });

  it("a client: its parent at the share with the link as ceiling, three leaves by priority, p2p capped, short queues", () => {
    const lines = clientLines(lan, { slot: 2, rateBps: 12e6, ceilBps: 50e6, p2pBps: 256e3 }).map(line);
    const p = parentMinor(2).toString(16);
    assert.equal(p, '20');
    assert.match(lines[0]!, /^class replace dev br-lan parent 1:1 classid 1:20 htb rate 12000000bit ceil 50000000bit /);
    const leaves = lines.filter((l) => / parent 1:20 classid /.test(l));
    assert.deepEqual(leaves.map((l) => /prio (\d+)/.exec(l)![1]), ['0', '1', '7']);
    assert.match(leaves[2]!, /classid 1:23 htb rate 8000bit ceil 256000bit /, 'the p2p leaf is capped at p2p_rate');
    assert.match(leaves[1]!, /ceil 50000000bit/, 'the others may borrow up to the link');
    const queues = lines.filter((l) => l.startsWith('qdisc replace'));
    assert.equal(queues.length, 3);
    assert.match(queues[2]!, /parent 1:23 handle 23: pfifo limit 10$/);
    assert.ok(clientLines(lan, { slot: 2, rateBps: 12e6, ceilBps: 50e6, p2pBps: 256e3 }, 'add').filter((l) => l[0] === 'class').every((l) => l[1] === 'add'), 'a fresh slot is added');
    assert.equal(fifoLimit(50e6), 200);
    assert.equal(fifoLimit(256e3), 10);
  });

  it('uses the best leaf the kernel has', () => {
    for (const [leaf, want] of [['fq_codel', / fq_codel$/], ['cake', / cake unlimited besteffort$/], ['sfq', / sfq perturb 10$/]] as const) {
      const q = clientLines({ ...lan, leaf }, { slot: 0, rateBps: 1e6, ceilBps: 50e6, p2pBps: 256e3 }).map(line).filter((l) => l.startsWith('qdisc'));
      assert.ok(q.every((l) => want.test(l)), `${leaf}: ${q.join('\n')}`);
    }
  });

  it('a fair-use client: its parent ceiling drops to the fair-use rate', () => {
    const [l] = clientChangeLines(lan, { slot: 0, rateBps: 12e6, ceilBps: 2e6, p2pBps: 256e3 }).map(line);
    assert.match(l!, /classid 1:10 htb rate 2000000bit ceil 2000000bit/, 'rate never above ceil');
  });

  it('removal: leaves before the parent (HTB refuses a class with children); teardown removes the root', () => {
    const lines = clientRemoveLines('wan0', 1).map(line);
    assert.deepEqual(lines, ['class del dev wan0 classid 1:19', 'class del dev wan0 classid 1:1a', 'class del dev wan0 classid 1:1b', 'class del dev wan0 classid 1:18']);
    assert.deepEqual(teardownArgv('wan0'), ['qdisc', 'del', 'dev', 'wan0', 'root']);
  });

  it('slots and class ids round-trip, and stay inside the 16-bit minor space', () => {
    for (const s of [0, 1, 77, MAX_SLOTS - 1]) {
      assert.equal(slotOfMinor(parentMinor(s)), s);
      assert.equal(slotOfMinor(leafMinor(s, 'bulk')), undefined);
      assert.ok(leafMinor(s, 'p2p') <= 0xffff);
    }
    assert.throws(() => parentMinor(MAX_SLOTS), /out of range/);
    assert.equal(classid(0x1c), '1:1c');
  });

  it('shares split the link minus the default class, never below a floor', () => {
    assert.equal(shareOf(50e6, 4), Math.floor((50e6 - 500e3) / 4));
    assert.equal(shareOf(100e3, 1000), 8000);
  });

  it('nothing but checked names and numbers reaches tc', () => {
    assert.throws(() => rootLines({ ...lan, dev: 'eth0; reboot' }), /interface name/);
    assert.throws(() => rootLines({ ...lan, dev: 'a-very-long-interface-name' }), /interface name/);
    assert.throws(() => clientLines(lan, { slot: 0, rateBps: Number.NaN, ceilBps: 1e6, p2pBps: 1e3 }), /rate/);
    assert.throws(() => batchText([['class', 'add', 'dev', 'x\ny']]), /must not reach tc/);
    assert.equal(batchText([['qdisc', 'del', 'dev', 'eth0', 'root']]), 'qdisc del dev eth0 root\n');
  });
});
