import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMirror, renderMirrorChunks, type MirrorItem } from '../../src/crowdsec/mirror/index.js';
import { parseDuration } from '../../src/config/duration.js';
import { parseTarget } from '../../src/net/ip.js';

const NOW = 1_800_000_000_000;
const H = 3600_000;
const ITEMS: MirrorItem[] = [
  { value: '198.51.100.0/24', family: 4, origin: 'feed:spamhaus', scenario: 'spamhaus-drop', scope: 'range', expiresAt: NOW + 2 * H },
  { value: '192.0.2.10', family: 4, origin: 'crowdsec', scenario: 'crowdsecurity/ssh-bf', scope: 'ip', expiresAt: NOW + 4 * H },
  { value: '2001:db8::10', family: 6, origin: 'manual', scenario: 'manual', scope: 'ip', expiresAt: NOW + H },
  { value: '2001:db8:1::/48', family: 6, origin: 'engine', scenario: 'gatehouse/sip-bf', scope: 'range', expiresAt: null },
  { value: '192.0.2.99', family: 4, origin: 'crowdsec', scenario: 'x', scope: 'ip', expiresAt: NOW - 1 }, // expired: never served
];

test('plain_text: one value per line, sorted by text, expired left out', () => {
  const out = renderMirror(ITEMS, 'plain_text', { now: NOW });
  assert.equal(out, '192.0.2.10\n198.51.100.0/24\n2001:db8:1::/48\n2001:db8::10\n');
  assert.deepEqual(out.trim().split('\n').map((l) => parseTarget(l).text), ['192.0.2.10', '198.51.100.0/24', '2001:db8:1::/48', '2001:db8::10']);
});

test('query filters: ipv4only, ipv6only, origin (case-insensitive), nosort', () => {
  assert.equal(renderMirror(ITEMS, 'plain_text', { now: NOW, ipv4only: true }), '192.0.2.10\n198.51.100.0/24\n');
  assert.equal(renderMirror(ITEMS, 'plain_text', { now: NOW, ipv6only: true }), '2001:db8:1::/48\n2001:db8::10\n');
  assert.equal(renderMirror(ITEMS, 'plain_text', { now: NOW, origin: 'CrowdSec' }), '192.0.2.10\n');
  assert.equal(renderMirror(ITEMS, 'plain_text', { now: NOW, nosort: true }), '198.51.100.0/24\n192.0.2.10\n2001:db8::10\n2001:db8:1::/48\n');
  assert.equal(renderMirror(ITEMS, 'plain_text', { now: NOW, origin: 'nobody' }), '');
});

test('juniper: every line a CIDR, hosts as /32 and /128', () => {
  const out = renderMirror(ITEMS, 'juniper', { now: NOW });
  assert.equal(out, '192.0.2.10/32\n198.51.100.0/24\n2001:db8:1::/48\n2001:db8::10/128\n');
  const parsed = out.trim().split('\n').map((l) => parseTarget(l));
  assert.deepEqual(parsed.map((t) => t.prefix), [32, 24, 48, 128]);
});

test('f5: ip,mask,bl,category with /64 for IPv6 hosts and the scenario name after the author', () => {
  const out = renderMirror(ITEMS, 'f5', { now: NOW });
  const rows = out.trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(rows, [
    ['192.0.2.10', '32', 'bl', 'ssh-bf'],
    ['198.51.100.0', '24', 'bl', 'spamhaus-drop'],
    ['2001:db8:1::', '48', 'bl', 'sip-bf'],
    ['2001:db8::10', '64', 'bl', 'manual'],
  ]);
  for (const [ip, mask] of rows) assert.equal(parseTarget(`${ip}/${mask}`).family, ip!.includes(':') ? 6 : 4);
});

test('mikrotik: exactly the mirror template output; timeouts are remaining Go durations', () => {
  const out = renderMirror(ITEMS, 'mikrotik', { now: NOW });
  const expected =
    '\n/ip/firewall/address-list/remove [ find where list="CrowdSec" ];\n:global CrowdSecAddIP;\n:set CrowdSecAddIP do={\n' +
    '    :do { /ip/firewall/address-list/add list=CrowdSec address=$1 comment="$2" timeout=$3; } on-error={ }\n}\n' +
    '\n/ipv6/firewall/address-list/remove [ find where list="CrowdSec" ];\n:global CrowdSecAddIPv6;\n:set CrowdSecAddIPv6 do={\n' +
    '    :do { /ipv6/firewall/address-list/add list=CrowdSec address=$1 comment="$2" timeout=$3; } on-error={ }\n}\n' +
    '$CrowdSecAddIP "192.0.2.10" "crowdsecurity/ssh-bf" "4h0m0s"\n' +
    '$CrowdSecAddIP "198.51.100.0/24" "spamhaus-drop" "2h0m0s"\n' +
    '$CrowdSecAddIPv6 "2001:db8:1::/48" "gatehouse/sip-bf" "8760h0m0s"\n' +
    '$CrowdSecAddIPv6 "2001:db8::10" "manual" "1h0m0s"\n' +
    '\n:set CrowdSecAddIP;\n:set CrowdSecAddIPv6;';
  assert.equal(out, expected);
  // Parse the calls back.
  const calls = [...out.matchAll(/^\$(CrowdSecAddIP(?:v6)?) "([^"]*)" "([^"]*)" "([^"]*)"$/gm)].map((m) => ({
    fn: m[1], value: m[2], scenario: m[3], ms: parseDuration(m[4]!),
  }));
  assert.deepEqual(calls.map((c) => [c.fn, c.value, c.ms]), [
    ['CrowdSecAddIP', '192.0.2.10', 4 * H], ['CrowdSecAddIP', '198.51.100.0/24', 2 * H],
    ['CrowdSecAddIPv6', '2001:db8:1::/48', 8760 * H], ['CrowdSecAddIPv6', '2001:db8::10', H],
  ]);
});

test('mikrotik ipv4only with a list name drops the v6 function; quotes in scenarios are escaped', () => {
  const out = renderMirror([{ value: '192.0.2.1', family: 4, origin: 'o', scenario: 'a"b$c', expiresAt: NOW + 90_000 }], 'mikrotik',
    { now: NOW, ipv4only: true, listName: 'bad' });
  assert.ok(!out.includes('ipv6'));
  assert.ok(out.includes('list="bad"') && out.includes('list=bad '));
  assert.ok(out.includes('$CrowdSecAddIP "192.0.2.1" "a\\"b\\$c" "1m30s"\n'));
  assert.ok(out.endsWith('\n\n:set CrowdSecAddIP;'));
});

test('json: parses back to the same entries', () => {
  const out = JSON.parse(renderMirror(ITEMS, 'json', { now: NOW })) as { value: string; scope: string; origin: string; expires_at: string | null; duration: string | null }[];
  assert.deepEqual(out.map((o) => [o.value, o.scope, o.origin]), [
    ['192.0.2.10', 'Ip', 'crowdsec'], ['198.51.100.0/24', 'Range', 'feed:spamhaus'],
    ['2001:db8:1::/48', 'Range', 'engine'], ['2001:db8::10', 'Ip', 'manual'],
  ]);
  assert.equal(out[0]!.expires_at, new Date(NOW + 4 * H).toISOString());
  assert.equal(out[2]!.expires_at, null);
});

test('aggregate: neighbours merge, every entry printed as a CIDR, merged scenario marked', () => {
  const items: MirrorItem[] = [
    { value: '10.0.0.0/25', family: 4, origin: 'feed:a', scenario: 'a', expiresAt: NOW + H },
    { value: '10.0.0.128/25', family: 4, origin: 'feed:b', scenario: 'b', expiresAt: NOW + 2 * H },
    { value: '192.0.2.7', family: 4, origin: 'crowdsec', scenario: 'crowdsecurity/ssh-bf', expiresAt: NOW + H },
    { value: '2001:db8::1', family: 6, origin: 'manual', scenario: 'm', expiresAt: null },
  ];
  assert.equal(renderMirror(items, 'plain_text', { now: NOW, aggregate: true }), '10.0.0.0/24\n192.0.2.7/32\n2001:db8::1/128\n');
  assert.equal(renderMirror(items, 'f5', { now: NOW, aggregate: true }), '10.0.0.0,24,bl,aggregated\n192.0.2.7,32,bl,ssh-bf\n2001:db8::1,128,bl,m\n');
  assert.ok(renderMirror(items, 'mikrotik', { now: NOW, aggregate: true }).includes('$CrowdSecAddIP "10.0.0.0/24" "aggregated" "2h0m0s"'));
});

test('a million entries stream out in bounded chunks', () => {
  const items = function* (): Generator<MirrorItem> {
    for (let i = 0; i < 1_000_000; i++) {
      yield { value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, family: 4, origin: 'feed:x', scenario: 's', expiresAt: null };
    }
  };
  let lines = 0;
  let chunks = 0;
  let maxChunk = 0;
  for (const c of renderMirrorChunks(items(), 'juniper', { nosort: true })) {
    chunks++;
    maxChunk = Math.max(maxChunk, c.length);
    for (let i = 0; i < c.length; i++) if (c.charCodeAt(i) === 10) lines++;
  }
  assert.equal(lines, 1_000_000);
  assert.ok(chunks > 100 && maxChunk < 70_000, `${chunks} chunks, max ${maxChunk}`);
});
