/**
 * Class allocation: which shares get which slot, what changes when clients come, go, move between shares or
 * enter fair use, and the order the kernel sees it in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classid, leafMinor, type DeviceSpec } from '../../src/shaper/htb.js';
import { bucket, emptyTable, mapElements, planShares, type ShareWant } from '../../src/shaper/plan.js';
import { MARK_ELEPHANT, MARK_INTERACTIVE, MARK_P2P } from '../../src/shaper/marks.js';
import { shaperFragment } from '../../src/shaper/fragment.js';
import { composeTable } from '../../src/firewall/compose.js';

const devices: DeviceSpec[] = [
  { dev: 'br-lan', dir: 'down', linkBps: 50e6, leaf: 'pfifo' },
  { dev: 'wan0', dir: 'up', linkBps: 10e6, leaf: 'pfifo' },
];
const opts = { devices, p2pBps: 256e3, fairUseBps: 2e6 };
const want = (entries: Record<string, string[]>, fair: string[] = []) => new Map<string, ShareWant>(Object.entries(entries).map(([k, addrs]) => [k, { addrs, fairUse: fair.includes(k) }]));
const cmds = (m: ReadonlyMap<string, string[][]>, dev: string) => (m.get(dev) ?? []).map((l) => l.join(' '));

describe('shaper class allocation', () => {
  it('new shares get the lowest free slots, classes on every device, map elements for every address and mark', () => {
    const p = planShares(emptyTable(), want({ 'mac:a': ['10.0.0.2', 'fd00::2'], 'mac:b': ['10.0.0.3'] }), opts);
    assert.deepEqual([...p.next.shares.values()].map((s) => [s.key, s.slot]), [['mac:a', 0], ['mac:b', 1]]);
    for (const dev of ['br-lan', 'wan0']) {
      assert.ok(cmds(p.tcBefore, dev).some((l) => l.includes(`dev ${dev} parent 1:1 classid 1:10 `)));
      assert.ok(cmds(p.tcBefore, dev).some((l) => l.includes(`dev ${dev} parent 1:1 classid 1:18 `)));
    }
    // Two shares: each is guaranteed half of the link minus the default class.
    assert.ok(cmds(p.tcBefore, 'br-lan')[0]!.includes('rate 24750000bit ceil 50000000bit'));
    const ops = p.mapOps.map((o) => [o.op, 'set' in o ? o.set : '', 'elements' in o ? o.elements.length : 0]);
    assert.deepEqual(ops, [['add', 'shaper_down4', 16], ['add', 'shaper_up4', 16], ['add', 'shaper_down6', 8], ['add', 'shaper_up6', 8]]);
    assert.ok(cmds(p.tcBefore, 'br-lan').filter((l) => l.startsWith('class')).every((l) => l.startsWith('class add')), 'fresh slots: add');
    assert.deepEqual(p.created, ['mac:a', 'mac:b']);
  });

  it('mark bits pick the leaf: p2p over elephant (bulk) over the rest (interactive)', () => {
    const byMark = new Map(mapElements('10.0.0.2', 0).map((e) => [Number(e.key[1]), e.value]));
    assert.equal(byMark.get(0), '1:11', 'a young flow is interactive');
    assert.equal(byMark.get(MARK_INTERACTIVE), '1:11');
    assert.equal(byMark.get(MARK_ELEPHANT), '1:12');
    assert.equal(byMark.get(MARK_ELEPHANT | MARK_INTERACTIVE), '1:12', 'scp over SSH is bulk once big');
    assert.equal(byMark.get(MARK_P2P), '1:13');
    assert.equal(byMark.get(MARK_P2P | MARK_ELEPHANT | MARK_INTERACTIVE), '1:13');
    assert.equal(byMark.size, 8);
  });

  it('a share that stays keeps its slot and is not rewritten; one that goes is removed after its map elements', () => {
    const p1 = planShares(emptyTable(), want({ 'mac:a': ['10.0.0.2'], 'mac:b': ['10.0.0.3'] }), opts);
    const p2 = planShares(p1.next, want({ 'mac:b': ['10.0.0.3'] }), opts);
    assert.equal(p2.next.shares.get('mac:b')!.slot, 1);
    assert.deepEqual(p2.removed, ['mac:a']);
    // b's parent is only re-rated (one share now): no leaves re-created.
    assert.deepEqual(cmds(p2.tcBefore, 'br-lan').map((l) => /classid (\S+)/.exec(l)![1]), ['1:18']);
    assert.deepEqual(p2.mapOps.map((o) => o.op), ['delete', 'delete']);
    assert.deepEqual(cmds(p2.tcAfter, 'br-lan'), ['class del dev br-lan classid 1:11', 'class del dev br-lan classid 1:12', 'class del dev br-lan classid 1:13', 'class del dev br-lan classid 1:10']);
    // A newcomer takes the freed slot.
    const p3 = planShares(p2.next, want({ 'mac:b': ['10.0.0.3'], 'mac:c': ['10.0.0.4'] }), opts);
    assert.equal(p3.next.shares.get('mac:c')!.slot, 0);
    // A slot freed in the same plan is re-used with `replace` (its classes may still be there).
    const p4 = planShares(p1.next, want({ 'mac:b': ['10.0.0.3'], 'mac:c': ['10.0.0.4'] }), opts);
    assert.equal(p4.next.shares.get('mac:c')!.slot, 0);
    assert.ok(cmds(p4.tcBefore, 'br-lan').some((l) => l.startsWith('class replace dev br-lan parent 1:1 classid 1:10 ')));
    assert.deepEqual(cmds(p4.tcAfter, 'br-lan'), [], 'and not removed afterwards');
  });

  it('no change, no commands', () => {
    const p1 = planShares(emptyTable(), want({ 'mac:a': ['10.0.0.2'] }), opts);
    const p2 = planShares(p1.next, want({ 'mac:a': ['10.0.0.2'] }), opts);
    assert.deepEqual([...p2.tcBefore.values()].flat(), []);
    assert.deepEqual(p2.mapOps, []);
    assert.deepEqual([...p2.tcAfter.values()].flat(), []);
  });

  it("guarantees change only when the share count crosses a power of two", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 8, 9].map(bucket), [1, 2, 4, 4, 8, 8, 16]);
    const three = planShares(emptyTable(), want({ a: ['10.0.0.2'], b: ['10.0.0.3'], c: ['10.0.0.4'] }), opts);
    const four = planShares(three.next, want({ a: ['10.0.0.2'], b: ['10.0.0.3'], c: ['10.0.0.4'], d: ['10.0.0.5'] }), opts);
    assert.equal(cmds(four.tcBefore, 'br-lan').filter((l) => / parent 1:1 /.test(l)).length, 1, 'only the newcomer');
    const five = planShares(four.next, want({ a: ['10.0.0.2'], b: ['10.0.0.3'], c: ['10.0.0.4'], d: ['10.0.0.5'], e: ['10.0.0.6'] }), opts);
    assert.equal(cmds(five.tcBefore, 'br-lan').filter((l) => / parent 1:1 /.test(l)).length, 5, 'everyone re-rated at 5');
  });

  it('fair use lowers the share ceiling on both devices; a device joining a user share moves its map elements', () => {
    const p1 = planShares(emptyTable(), want({ 'mac:a': ['10.0.0.2'], 'mac:b': ['10.0.0.3'] }), opts);
    const p2 = planShares(p1.next, want({ 'mac:a': ['10.0.0.2'], 'mac:b': ['10.0.0.3'] }, ['mac:a']), opts);
    assert.match(cmds(p2.tcBefore, 'br-lan')[0]!, /classid 1:10 htb rate 2000000bit ceil 2000000bit/);
    assert.match(cmds(p2.tcBefore, 'wan0')[0]!, /classid 1:10 htb rate 2000000bit ceil 2000000bit/);
    const p3 = planShares(p2.next, want({ 'user:alice': ['10.0.0.2', '10.0.0.3'] }), opts);
    const alice = p3.next.shares.get('user:alice')!;
    assert.ok(alice.slot === 0 || alice.slot === 1);
    const moved = p3.mapOps.filter((o) => o.op === 'replace').flatMap((o) => ('elements' in o ? o.elements : []));
    const leaves = new Set((['interactive', 'bulk', 'p2p'] as const).map((l) => classid(leafMinor(alice.slot, l))));
    assert.ok(moved.length > 0 && moved.every((e) => leaves.has(e.value!)), 'every element points to a leaf of the user share');
    assert.ok(moved.some((e) => e.key[0] === (alice.slot === 0 ? '10.0.0.3' : '10.0.0.2')), 'the device from the other slot moved');
  });

  it('after a restart, hinted slots are kept so nothing moves', () => {
    const hints = new Map([['10.0.0.9', 5]]);
    const p = planShares(emptyTable(), want({ 'mac:z': ['10.0.0.9'], 'mac:y': ['10.0.0.8'] }), { ...opts, slotHints: hints });
    assert.equal(p.next.shares.get('mac:z')!.slot, 5);
    assert.equal(p.next.shares.get('mac:y')!.slot, 0);
  });

  it("the fragment composes into the table with the shaper's maps, counter sets and classify rules", () => {
    const f = shaperFragment({ lan: ['br-lan'], wan: ['wan0'], idleSec: 300 });
    const t = composeTable('gatehouse', [f]);
    assert.match(t.script, /add map inet gatehouse shaper_down4 \{ type ipv4_addr \. mark : classid; \}/);
    assert.match(t.script, /add set inet gatehouse shaper_rx4 \{ type ipv4_addr; flags dynamic,timeout; timeout 300s; size 65536; counter; \}/);
    assert.match(t.script, /add rule inet gatehouse mangle_postrouting iifname \{ "wan0" \} oifname \{ "br-lan" \} meta priority set ip daddr \. ct mark map @shaper_down4/);
    assert.match(t.script, /add rule inet gatehouse mangle_postrouting iifname \{ "br-lan" \} oifname \{ "wan0" \} meta priority set ip saddr \. ct mark map @shaper_up4/);
    assert.throws(() => shaperFragment({ lan: ['br lan'], wan: ['wan0'], idleSec: 300 }), /interface name/);
  });
});
