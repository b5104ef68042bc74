import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListedElements, renderRuntimeOps, RuntimeOpError, type KernelFragment } from '../../src/firewall/index.js';

const frag: KernelFragment = {
  module: 'portal',
  runtimeQuotaPrefix: 'portal_q',
  sets: [{ name: 'auth4', type: ['ether_addr', 'ipv4_addr'], flags: ['timeout'] }],
  maps: [
    { name: 'qdown4', key: ['ipv4_addr'], value: 'quota', flags: ['timeout'] },
    { name: 'cls', key: ['ipv4_addr', 'mark'], value: 'classid' },
  ],
};

test('runtime ops render keys re-printed from their parsed form, with timeouts and map values', () => {
  const s = renderRuntimeOps('gatehouse', frag, [
    { op: 'add-quota', name: 'portal_q7', bytes: 5_000_000 },
    { op: 'add', set: 'auth4', elements: [{ key: ['02-00-00-00-00-0A', '10.0.0.7'], timeoutSec: 60 }] },
    { op: 'replace', set: 'qdown4', elements: [{ key: ['10.0.0.7'], value: 'portal_q7', timeoutSec: 60 }] },
    { op: 'add', set: 'cls', elements: [{ key: ['10.0.0.7', '0x1'], value: '1:A' }] },
  ]);
  assert.match(s, /add quota inet gatehouse portal_q7 \{ over 5000000 bytes \}/);
  assert.match(s, /add element inet gatehouse auth4 \{ 02:00:00:00:00:0a \. 10\.0\.0\.7 timeout 60s \}/);
  assert.match(s, /delete element inet gatehouse qdown4 \{ 10\.0\.0\.7 \}\nadd element inet gatehouse qdown4 \{ 10\.0\.0\.7 timeout 60s : "portal_q7" \}/);
  assert.match(s, /add element inet gatehouse cls \{ 10\.0\.0\.7 \. 1 : 1:a \}/);
});

test('runtime ops refuse what the fragment does not declare or a value that is not its type', () => {
  const bad: Parameters<typeof renderRuntimeOps>[2][] = [
    [{ op: 'add', set: 'other', elements: [{ key: ['10.0.0.1'] }] }],
    [{ op: 'add', set: 'auth4', elements: [{ key: ['02:00:00:00:00:01', '10.0.0.1; flush ruleset'] }] }],
    [{ op: 'add', set: 'auth4', elements: [{ key: ['02:00:00:00:00:01'] }] }],
    [{ op: 'add', set: 'qdown4', elements: [{ key: ['10.0.0.1'], value: 'firewall_q' }] }],
    [{ op: 'add', set: 'cls', elements: [{ key: ['10.0.0.1', '1'], value: '1:10 } ; add' }] }],
    [{ op: 'add-quota', name: 'other_q', bytes: 10 }],
    [{ op: 'add', set: 'cls', elements: [{ key: ['10.0.0.1', '1'], value: '1:1', timeoutSec: 5 }] }],
  ];
  for (const ops of bad) assert.throws(() => renderRuntimeOps('gatehouse', frag, ops), RuntimeOpError, JSON.stringify(ops));
});

test('listed elements: bare values, elem objects with counters and expiry, concatenations, map pairs', () => {
  const got = parseListedElements({
    nftables: [
      { metainfo: {} },
      { set: { elem: ['10.0.0.1', { elem: { val: '10.0.0.9', expires: 99, counter: { packets: 3, bytes: 1500 } } }] } },
      { map: { elem: [[{ elem: { val: { concat: ['10.0.0.8', 0] }, expires: 29 } }, '1:a'], [{ concat: ['10.0.0.7', 1] }, '1:10']] } },
    ],
  });
  assert.deepEqual(got, [
    { key: ['10.0.0.1'] },
    { key: ['10.0.0.9'], counter: { packets: 3, bytes: 1500 }, expiresSec: 99 },
    { key: ['10.0.0.8', '0'], value: '1:a', expiresSec: 29 },
    { key: ['10.0.0.7', '1'], value: '1:10' },
  ]);
});
