import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderRuntimeOps, type ListedElement } from '../../src/firewall/index.js';
import { portalFragment } from '../../src/portal/kernel/index.js';
import { parseQuotaName, quotaName, sessionHash } from '../../src/portal/kernel/names.js';
import { grantOps, revokeOps, staleOps, staticOps, type Listing } from '../../src/portal/kernel/ops.js';
import { spentFrom, usageFrom } from '../../src/portal/kernel/accounting.js';
import { flushArgs, flushFailed } from '../../src/portal/kernel/conntrack.js';
import type { Grant } from '../../src/portal/types.js';

const frag = portalFragment({ lanInterfaces: ['br-lan'], portalPort: 8080 });
const render = (ops: Parameters<typeof renderRuntimeOps>[2]): string[] => renderRuntimeOps('gatehouse', frag, ops).trim().split('\n');
const NOW = 1_000_000_000_000;
const grant = (extra: Partial<Grant> = {}): Grant => ({
  sessionId: 'sess-1',
  device: { mac: '02:77:00:00:00:10', ipv4: ['10.77.0.10'], ipv6: ['FD77:0::10'] },
  untilMs: NOW + 3_600_000,
  ...extra,
});
const listing = (entries: Record<string, ListedElement[]>): Listing => new Map(Object.entries(entries));

test('quota names carry the session and the limit, fit nft, and read back', () => {
  const n = quotaName('a session id of any length, even with "quotes"; and spaces', 'down', 5e9);
  assert.ok(n.length <= 32 && /^portal_q[0-9a-f]{10}d[0-9a-z]+$/.test(n), n);
  assert.deepEqual(parseQuotaName(n), { hash: sessionHash('a session id of any length, even with "quotes"; and spaces'), direction: 'down', limit: 5e9 });
  assert.ok(quotaName('x', 'up', Number.MAX_SAFE_INTEGER).length <= 32);
  assert.equal(parseQuotaName('portal_qnothex'), undefined);
  assert.equal(parseQuotaName(`"${quotaName('x', 'up', 10)}"`)?.limit, 10);
});

test('a grant: allow elements with the session time, fresh counters, quotas created before the map elements that use them', () => {
  const out = render(grantOps(grant({ downloadLeft: 5_000_000, uploadLeft: 1_000_000 }), NOW, { keepCounters: false }));
  const qd = quotaName('sess-1', 'down', 5_000_000);
  const qu = quotaName('sess-1', 'up', 1_000_000);
  assert.deepEqual(out.slice(0, 2), [`add quota inet gatehouse ${qu} { over 1000000 bytes }`, `add quota inet gatehouse ${qd} { over 5000000 bytes }`]);
  assert.ok(out.includes('add element inet gatehouse portal_auth4 { 02:77:00:00:00:10 . 10.77.0.10 timeout 3600s }'));
  // The IPv6 address as nft prints it (compressed, lower case), so listings compare equal.
  assert.ok(out.includes('add element inet gatehouse portal_auth6 { 02:77:00:00:00:10 . fd77::10 timeout 3600s }'));
  assert.ok(out.includes('delete element inet gatehouse portal_down4 { 10.77.0.10 }'), 'a fresh grant restarts the counters (replace)');
  assert.ok(out.includes(`add element inet gatehouse portal_qdown6 { fd77::10 timeout 3720s : "${qd}" }`));
  assert.ok(!out.some((l) => l.includes('portal_qup') && l.includes(qd)));
});

test('no limit, no quota; a session already over grants nothing', () => {
  const out = render(grantOps(grant(), NOW, { keepCounters: false }));
  assert.ok(!out.some((l) => /quota|portal_q(down|up)/.test(l)), out.join('\n'));
  assert.deepEqual(grantOps(grant({ untilMs: NOW - 1 }), NOW, { keepCounters: false }), []);
});

test('re-assertion keeps what the kernel counted: counters are added (kept), the quota already mapped for the session is reused', () => {
  const old = quotaName('sess-1', 'down', 9_000_000);
  const l = listing({ portal_qdown4: [{ key: ['10.77.0.10'], value: old }] });
  const out = render(grantOps(grant({ downloadLeft: 2_000_000 }), NOW, { keepCounters: true, listing: l }));
  assert.ok(out.includes(`add quota inet gatehouse ${old} { over 9000000 bytes }`), 'the original limit, not the smaller "left" of the store');
  assert.ok(!out.some((l) => l.includes(quotaName('sess-1', 'down', 2_000_000))));
  assert.ok(!out.some((l) => l.startsWith('delete element inet gatehouse portal_down4')), 'counters are not reset');
});

test('an address still mapped to another session\'s quota is unmapped first (the kernel will not change a value in place)', () => {
  const other = quotaName('sess-0', 'down', 1000);
  const l = listing({ portal_qdown4: [{ key: ['10.77.0.10'], value: other }] });
  const out = render(grantOps(grant({ downloadLeft: 5000 }), NOW, { keepCounters: false, listing: l }));
  const del = out.indexOf(`delete element inet gatehouse portal_qdown4 { 10.77.0.10 }`);
  const add = out.lastIndexOf(`add element inet gatehouse portal_qdown4 { 10.77.0.10 timeout 3720s : "${quotaName('sess-1', 'down', 5000)}" }`);
  assert.ok(del >= 0 && add > del, out.join('\n'));
});

test('revoke: allow elements, counters and map elements go, then the session\'s quotas', () => {
  const qd = quotaName('sess-1', 'down', 5000);
  const l = listing({ portal_qdown4: [{ key: ['10.77.0.10'], value: qd }], portal_qdown6: [{ key: ['fd77::10'], value: qd }] });
  const out = render(revokeOps(grant({ downloadLeft: 5000 }), l));
  assert.ok(out.includes('delete element inet gatehouse portal_auth4 { 02:77:00:00:00:10 . 10.77.0.10 }'));
  assert.ok(out.includes('delete element inet gatehouse portal_auth6 { 02:77:00:00:00:10 . fd77::10 }'));
  assert.ok(out.includes('delete element inet gatehouse portal_up6 { fd77::10 }'));
  const q = out.indexOf(`delete quota inet gatehouse ${qd}`);
  assert.ok(q > out.indexOf('delete element inet gatehouse portal_qdown6 { fd77::10 }') && q > out.indexOf('delete element inet gatehouse portal_qdown4 { 10.77.0.10 }'));
  assert.deepEqual(flushArgs('fd77::10'), [['-D', '-f', 'ipv6', '-s', 'fd77::10'], ['-D', '-f', 'ipv6', '-r', 'fd77::10']]);
  assert.equal(flushFailed({ code: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.' }), false);
  assert.equal(flushFailed({ code: 1, stderr: 'Operation not permitted' }), true);
});

test('stale: what no wanted grant covers leaves at re-assertion, what one covers stays', () => {
  const mine = quotaName('sess-1', 'down', 5000);
  const gone = quotaName('sess-gone', 'up', 7000);
  const l = listing({
    portal_auth4: [{ key: ['02:77:00:00:00:10', '10.77.0.10'] }, { key: ['02:77:00:00:00:99', '10.77.0.99'] }, { key: ['02:77:00:00:00:98', '10.77.0.10'] }],
    portal_down4: [{ key: ['10.77.0.10'], counter: { packets: 1, bytes: 2 } }, { key: ['10.77.0.99'], counter: { packets: 1, bytes: 2 } }],
    portal_qdown4: [{ key: ['10.77.0.10'], value: mine }],
    portal_qup4: [{ key: ['10.77.0.99'], value: gone }],
  });
  const out = render(staleOps([grant({ downloadLeft: 5000 })], l));
  // The same address under another MAC is not this grant.
  assert.ok(out.includes('delete element inet gatehouse portal_auth4 { 02:77:00:00:00:99 . 10.77.0.99, 02:77:00:00:00:98 . 10.77.0.10 }'), out.join('\n'));
  assert.ok(!out.some((x) => x.includes('02:77:00:00:00:10 . 10.77.0.10')));
  assert.ok(out.includes('delete element inet gatehouse portal_down4 { 10.77.0.99 }'));
  assert.ok(!out.includes('delete element inet gatehouse portal_down4 { 10.77.0.10 }'));
  assert.ok(out.includes(`delete quota inet gatehouse ${gone}`));
  assert.ok(!out.some((x) => x.includes(mine)));
});

test('exempt devices and outside resolvers: flushed and refilled in one go; bad entries are refused before nft', () => {
  const out = render(staticOps({ macs: ['02-77-00-00-00-11'], ipv4: ['10.77.0.200', '10.77.0.128/28'], ipv6: [] }, { ipv4: ['192.0.2.53'], ipv6: ['2001:db8::53'] }));
  assert.ok(out.indexOf('flush set inet gatehouse portal_exempt_mac') < out.indexOf('add element inet gatehouse portal_exempt_mac { 02:77:00:00:00:11 }'));
  assert.ok(out.includes('add element inet gatehouse portal_exempt4 { 10.77.0.200, 10.77.0.128/28 }'));
  assert.ok(out.includes('add element inet gatehouse portal_dns6 { 2001:db8::53 }'));
  assert.throws(() => render(staticOps({ macs: ['not-a-mac } ; flush ruleset'], ipv4: [], ipv6: [] }, { ipv4: [], ipv6: [] })), /not a MAC address/);
  assert.throws(() => render(grantOps(grant({ device: { mac: '02:77:00:00:00:10', ipv4: ['10.77.0.10 } ; flush ruleset'], ipv6: [] } }), NOW, { keepCounters: false })), /not an IPv4 address|not an address/);
});

test('usage sums the counter sets per address; spent compares a session\'s addresses together against the limit in its quota name', () => {
  const q = quotaName('s1', 'down', 10_000_000);
  const l = listing({
    portal_down4: [{ key: ['10.77.0.10'], counter: { packets: 10, bytes: 6_000_000 } }],
    portal_down6: [{ key: ['fd77::10'], counter: { packets: 10, bytes: 3_950_000 } }],
    portal_up4: [{ key: ['10.77.0.10'], counter: { packets: 3, bytes: 1200 } }],
    portal_qdown4: [{ key: ['10.77.0.10'], value: q }],
    portal_qdown6: [{ key: ['fd77::10'], value: q }],
  });
  assert.deepEqual(usageFrom(l), [
    { ip: '10.77.0.10', down: 6_000_000, up: 1200 },
    { ip: 'fd77::10', down: 3_950_000, up: 0 },
  ]);
  // 9.95 MB of 10 MB: within one GSO packet of the limit, so the quota rule is what stopped it.
  assert.deepEqual(spentFrom(l, (h) => (h === sessionHash('s1') ? 's1' : undefined)), [{ sessionId: 's1', direction: 'down' }]);
  const less = listing({ ...Object.fromEntries(l), portal_down6: [{ key: ['fd77::10'], counter: { packets: 10, bytes: 3_000_000 } }] });
  assert.deepEqual(spentFrom(less, () => 's1'), []);
  assert.deepEqual(spentFrom(l, () => undefined), [], 'a quota of a session this kernel never heard of is not reported');
});

test('a session that gains an address (adopt): the new address starts at zero, the known ones keep their counters', () => {
  const out = render(grantOps(grant({ device: { mac: '02:77:00:00:00:10', ipv4: ['10.77.0.10', '10.77.0.12'], ipv6: [] } }), NOW, { keepCounters: (ip) => ip === '10.77.0.10' }));
  assert.ok(out.includes('add element inet gatehouse portal_down4 { 10.77.0.10 timeout 3720s }'));
  assert.ok(!out.includes('delete element inet gatehouse portal_down4 { 10.77.0.10 }'), 'kept');
  assert.ok(out.includes('delete element inet gatehouse portal_down4 { 10.77.0.12 }'), 'fresh: replaced');
});

test('a grant with a new limit for the same session (a top-up) gets a new quota that counts from zero; a re-assertion keeps the old one', () => {
  const old = quotaName('sess-1', 'down', 9_000_000);
  const l = listing({ portal_qdown4: [{ key: ['10.77.0.10'], value: old }], portal_qdown6: [{ key: ['fd77::10'], value: old }] });
  const fresh = quotaName('sess-1', 'down', 20_000_000);
  const out = render(grantOps(grant({ downloadLeft: 20_000_000 }), NOW, { keepCounters: true, listing: l, keepAnyLimit: false }));
  assert.ok(out.includes(`add quota inet gatehouse ${fresh} { over 20000000 bytes }`));
  const del = out.indexOf(`delete quota inet gatehouse ${old}`);
  assert.ok(del > out.indexOf('delete element inet gatehouse portal_qdown4 { 10.77.0.10 }') && del > out.indexOf('delete element inet gatehouse portal_qdown6 { fd77::10 }'), out.join('\n'));
  assert.ok(out.includes('delete element inet gatehouse portal_down4 { 10.77.0.10 }'), 'the download counters restart with the new quota');
  assert.ok(!out.includes('delete element inet gatehouse portal_up4 { 10.77.0.10 }'), 'the upload ones (no change there) are kept');
  const kept = render(grantOps(grant({ downloadLeft: 20_000_000 }), NOW, { keepCounters: true, listing: l }));
  assert.ok(!kept.some((x) => x.includes(fresh)) && !kept.some((x) => x.startsWith('delete quota')));
});
