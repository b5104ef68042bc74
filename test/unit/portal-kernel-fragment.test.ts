import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeTable } from '../../src/firewall/compose.js';
import { firewallFragment } from '../../src/firewall/ruleset.js';
import { KernelFragmentError } from '../../src/firewall/index.js';
import { portalFragment, PortalFragmentError } from '../../src/portal/kernel/index.js';

const fw = firewallFragment({ table: 'gatehouse', lan: ['br-lan'], wan: ['wan0'], inbound: 'enforce', outbound: 'enforce', hitTimeoutSec: 60, hitSetSize: 65536 });
const portal = portalFragment({ lanInterfaces: ['br-lan', 'wlan0'], portalPort: 8080, extraPortalPorts: [8443], dnsPorts: [5353] });
const script = composeTable('gatehouse', [fw, portal]).script;
const lines = script.split('\n');
const rulesOf = (chain: string): string[] => lines.filter((l) => l.startsWith(`add rule inet gatehouse ${chain} `)).map((l) => l.slice(`add rule inet gatehouse ${chain} `.length));

test('the portal hooks a jump into its own chains at nat prerouting, forward (both directions) and input, after the firewall', () => {
  assert.deepEqual(rulesOf('nat_prerouting'), ['iifname { "br-lan", "wlan0" } jump portal_pre']);
  assert.deepEqual(rulesOf('forward'), [
    'iifname { "wan0" } jump inbound',
    'oifname { "wan0" } jump outbound',
    'iifname { "br-lan", "wlan0" } jump portal_fwd_up',
    'oifname { "br-lan", "wlan0" } jump portal_fwd_down',
  ]);
  assert.deepEqual(rulesOf('input'), ['iifname { "wan0" } jump inbound', 'iifname { "br-lan", "wlan0" } jump portal_input']);
});

test('nothing in the table accepts before the portal decides, and the portal itself never accepts or drops an unauthorised client silently', () => {
  for (const chain of ['nat_prerouting', 'forward', 'input']) {
    for (const r of rulesOf(chain)) assert.doesNotMatch(r, /\baccept\b/, `${chain}: ${r}`);
  }
  for (const chain of ['portal_pre', 'portal_fwd_up', 'portal_fwd_down', 'portal_input', 'portal_up4_acct', 'portal_up6_acct']) {
    for (const r of rulesOf(chain)) assert.doesNotMatch(r, /\baccept\b/, `${chain}: ${r}`);
  }
  // Unauthorised traffic ends in a reject: a TCP reset or ICMP admin-prohibited, never a silent drop.
  for (const chain of ['portal_fwd_up', 'portal_input']) {
    const r = rulesOf(chain);
    assert.deepEqual(r.slice(-2), ['meta l4proto tcp reject with tcp reset', 'reject with icmpx type admin-prohibited'], chain);
    assert.ok(!r.some((x) => /\bdrop\b/.test(x)), `${chain} drops: ${r.join('; ')}`);
  }
  // The only drop: a granted client's download over its quota (the session's limit, enforced in the kernel).
  assert.deepEqual(rulesOf('portal_fwd_down').filter((r) => /\bdrop\b/.test(r)), ['quota name ip daddr map @portal_qdown4 drop', 'quota name ip6 daddr map @portal_qdown6 drop']);
});

test('every check exists for IPv4 and for IPv6: a client cannot go around the portal over v6', () => {
  for (const chain of ['portal_pre', 'portal_fwd_up', 'portal_fwd_down', 'portal_input']) {
    const r = rulesOf(chain);
    const v4 = r.filter((x) => /\bip (saddr|daddr)\b/.test(x)).map((x) => x.replace(/\bip (saddr|daddr)\b/g, 'ip6 $1').replace(/(portal_[a-z_]*)4\b/g, '$16').replace('portal_up4_acct', 'portal_up6_acct'));
    const v6 = r.filter((x) => /\bip6 (saddr|daddr)\b/.test(x));
    assert.deepEqual(v6, v4, chain);
  }
  assert.ok(rulesOf('portal_fwd_up').includes('ether saddr . ip6 saddr @portal_auth6 goto portal_up6_acct'));
});

test('unauthorised: only tcp/80 to the outside is redirected, exempt and granted clients are left alone first', () => {
  const pre = rulesOf('portal_pre');
  assert.equal(pre.at(-1), 'tcp dport 80 fib daddr type != local redirect to :8080');
  assert.deepEqual(pre.slice(0, -1), [
    'ether saddr @portal_exempt_mac return',
    'ip saddr @portal_exempt4 return',
    'ip6 saddr @portal_exempt6 return',
    'ether saddr . ip saddr @portal_auth4 return',
    'ether saddr . ip6 saddr @portal_auth6 return',
  ]);
});

test('the gateway answers an unauthorised client on DHCP, DNS (53 and the resolver ports), the portal ports and IPv6 discovery only', () => {
  const input = rulesOf('portal_input');
  const open = input.filter((r) => /dport|icmpv6/.test(r));
  assert.deepEqual(open, [
    'udp dport { 67, 547 } return',
    'udp dport 53 return',
    'tcp dport 53 return',
    'udp dport 5353 return',
    'tcp dport 5353 return',
    'tcp dport 8080 return',
    'tcp dport 8443 return',
    'icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, mld2-listener-report } return',
  ]);
});

test('granted clients: quota before counter (counters count what passed), per direction and family', () => {
  assert.deepEqual(rulesOf('portal_up4_acct'), ['quota name ip saddr map @portal_qup4 reject with icmpx type admin-prohibited', 'ip saddr @portal_up4 return']);
  const down = rulesOf('portal_fwd_down');
  assert.ok(down.indexOf('quota name ip daddr map @portal_qdown4 drop') < down.indexOf('ip daddr @portal_down4 return'));
  assert.match(script, /add set inet gatehouse portal_down4 \{ type ipv4_addr; flags timeout; counter; \}/);
  assert.match(script, /add set inet gatehouse portal_auth6 \{ type ether_addr \. ipv6_addr; flags timeout; \}/);
  assert.match(script, /add map inet gatehouse portal_qup6 \{ type ipv6_addr : quota; flags timeout; \}/);
});

test('bad options are refused before any rule exists', () => {
  assert.throws(() => portalFragment({ lanInterfaces: [], portalPort: 8080 }), PortalFragmentError);
  assert.throws(() => portalFragment({ lanInterfaces: ['br-lan'], portalPort: 0 }), PortalFragmentError);
  assert.throws(() => portalFragment({ lanInterfaces: ['br-lan'], portalPort: 8080, dnsPorts: [70000] }), PortalFragmentError);
  assert.throws(() => portalFragment({ lanInterfaces: ['br lan"; flush ruleset'], portalPort: 8080 }), KernelFragmentError);
});
