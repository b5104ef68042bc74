import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composeTable } from '../../src/firewall/compose.js';
import { chainRef, ifnames, int, kw, rule, setRef, type KernelFragment, type NftRule } from '../../src/firewall/fragment.js';
import { firewallFragment, renderSkeleton, type RulesetOptions } from '../../src/firewall/ruleset.js';

const fw: RulesetOptions = {
  table: 'gatehouse',
  lan: ['br-lan'],
  wan: ['eth0'],
  inbound: 'enforce',
  outbound: 'enforce',
  hitTimeoutSec: 3600,
  hitSetSize: 65536,
};

/** A portal-like module hooking on both sides of the firewall's rules in forward, with its own set and chain. */
const portal: KernelFragment = {
  module: 'portal',
  sets: [{ name: 'portal_ok4', type: ['ipv4_addr'], flags: ['timeout'], timeoutSec: 600 }],
  maps: [{ name: 'portal_mac', key: ['ether_addr'], value: 'mark' }],
  chains: [{ name: 'portal_gate', rules: [rule`ip saddr ${setRef('portal_ok4')} return`, rule`drop`] }],
  // Declared out of point order on purpose: the composer orders by hook point.
  hooks: [
    { point: 'portal-gate', chain: 'forward', rules: [rule`iifname ${ifnames(['br-lan'])} jump ${chainRef('portal_gate')}`] },
    { point: 'before-reputation', chain: 'forward', rules: [rule`meta l4proto udp udp dport ${int(67)} return`] },
  ],
};

const dns: KernelFragment = {
  module: 'dns',
  hooks: [{ point: 'dns-redirect', chain: 'nat_prerouting', rules: [rule`meta l4proto udp udp dport ${int(53)} redirect to :${int(5353)}`] }],
};

const lines = (script: string, prefix: string): string[] => script.split('\n').filter((l) => l.startsWith(prefix));
const rulesOf = (script: string, chain: string): string[] => lines(script, `add rule inet gatehouse ${chain} `).map((l) => l.slice(`add rule inet gatehouse ${chain} `.length));

describe('composeTable: rendering and order', () => {
  it('with only the firewall fragment it renders exactly the firewall skeleton', () => {
    assert.equal(composeTable('gatehouse', [firewallFragment(fw)]).script, renderSkeleton(fw));
  });

  it('orders a base chain by hook point, then by fragment order', () => {
    const { script } = composeTable('gatehouse', [firewallFragment(fw), portal]);
    assert.deepEqual(rulesOf(script, 'forward'), [
      'meta l4proto udp udp dport 67 return',
      'iifname { "eth0" } jump inbound',
      'oifname { "eth0" } jump outbound',
      'iifname { "br-lan" } jump portal_gate',
    ]);
    // The same module list in another order changes only the order within one point, never across points.
    const swapped = composeTable('gatehouse', [portal, firewallFragment(fw)]).script;
    assert.deepEqual(rulesOf(swapped, 'forward'), rulesOf(script, 'forward'));
  });

  it('declares sets and maps, then base chains, then regular chains; base chains are refilled first', () => {
    const { script, sets, maps, chains, owners } = composeTable('gatehouse', [firewallFragment(fw), portal, dns]);
    const l = script.split('\n');
    assert.equal(l[0], 'add table inet gatehouse');
    assert.ok(l.includes('add set inet gatehouse portal_ok4 { type ipv4_addr; flags timeout; timeout 600s; }'));
    assert.ok(l.includes('add map inet gatehouse portal_mac { type ether_addr : mark; }'));
    assert.ok(l.includes('add chain inet gatehouse nat_prerouting { type nat hook prerouting priority dstnat - 10; policy accept; }'));
    assert.deepEqual(rulesOf(script, 'nat_prerouting'), ['meta l4proto udp udp dport 53 redirect to :5353']);
    const idx = (s: string): number => l.indexOf(s);
    assert.ok(idx('add set inet gatehouse hit_out6 { type ipv6_addr . ipv6_addr . inet_proto . inet_service; flags dynamic,timeout; timeout 3600s; size 65536; }') < idx('add set inet gatehouse portal_ok4 { type ipv4_addr; flags timeout; timeout 600s; }'));
    assert.ok(idx('add map inet gatehouse portal_mac { type ether_addr : mark; }') < idx('add chain inet gatehouse nat_prerouting { type nat hook prerouting priority dstnat - 10; policy accept; }'));
    assert.ok(idx('flush chain inet gatehouse forward') < idx('flush chain inet gatehouse portal_gate'));
    assert.deepEqual(chains, ['nat_prerouting', 'input', 'forward', 'output', 'inbound', 'outbound', 'in_hit4', 'out_hit4', 'in_hit6', 'out_hit6', 'portal_gate']);
    assert.ok(sets.includes('portal_ok4') && sets.includes('allow4') && !sets.includes('portal_mac'));
    assert.deepEqual(maps, ['portal_mac']);
    assert.equal(owners.get('portal_gate'), 'portal');
    assert.equal(owners.get('in_hit4'), 'firewall');
  });

  it('renders the same text for the same fragments every time', () => {
    const a = composeTable('gatehouse', [firewallFragment(fw), portal, dns]).script;
    const b = composeTable('gatehouse', [firewallFragment({ ...fw }), { ...portal }, { ...dns }]).script;
    assert.equal(a, b);
  });

  it('a hook with no rules still declares and flushes its base chain, so old rules go', () => {
    const off: KernelFragment = { module: 'shaper', hooks: [{ point: 'shaper-classify', chain: 'mangle_postrouting', rules: [] }] };
    const { script } = composeTable('gatehouse', [off]);
    assert.ok(script.includes('add chain inet gatehouse mangle_postrouting { type filter hook postrouting priority mangle; policy accept; }'));
    assert.ok(script.includes('flush chain inet gatehouse mangle_postrouting'));
    assert.deepEqual(rulesOf(script, 'mangle_postrouting'), []);
    // Base chains nobody hooks into are not declared.
    assert.ok(!script.includes('forward'));
  });
});

describe('composeTable: names are owned per module', () => {
  it('refuses two modules declaring the same set, naming both', () => {
    const other: KernelFragment = { module: 'dns', sets: [{ name: 'allow4', type: ['ipv4_addr'] }] };
    assert.throws(() => composeTable('gatehouse', [firewallFragment(fw), other]), /dns: set name "allow4" is already used by module firewall/);
  });

  it('refuses a chain with the name of another module\'s set, a base chain name, and one module twice', () => {
    assert.throws(() => composeTable('gatehouse', [firewallFragment(fw), { module: 'dns', chains: [{ name: 'hit_in4', rules: [] }] }]), /already used by module firewall/);
    assert.throws(() => composeTable('gatehouse', [{ module: 'dns', chains: [{ name: 'forward', rules: [] }] }]), /is a base chain/);
    assert.throws(() => composeTable('gatehouse', [dns, dns]), /module dns contributes two kernel fragments/);
    assert.throws(
      () => composeTable('gatehouse', [{ module: 'dns', sets: [{ name: 'x', type: ['mark'] }], chains: [{ name: 'x', rules: [] }] }]),
      /already used by the same module/,
    );
  });

  it('refuses a rule that refers to another module\'s set or jumps to its chain', () => {
    const peek: KernelFragment = { module: 'dns', hooks: [{ point: 'before-reputation', chain: 'input', rules: [rule`ip saddr ${setRef('allow4')} accept`] }] };
    assert.throws(() => composeTable('gatehouse', [firewallFragment(fw), peek]), /dns: a rule in input \(before-reputation\) refers to set allow4, which it does not own/);
    const jump: KernelFragment = { module: 'dns', hooks: [{ point: 'dns-redirect', chain: 'nat_prerouting', rules: [rule`jump ${chainRef('inbound')}`] }] };
    assert.throws(() => composeTable('gatehouse', [firewallFragment(fw), jump]), /jumps to chain inbound, which it does not own/);
    const missing: KernelFragment = { module: 'dns', chains: [{ name: 'dns_a', rules: [rule`goto ${chainRef('dns_b')}`] }] };
    assert.throws(() => composeTable('gatehouse', [missing]), /jumps to chain dns_b/);
  });
});

describe('composeTable and rule: validation', () => {
  for (const [what, f, msg] of [
    ['an upper-case set name', { module: 'dns', sets: [{ name: 'Block', type: ['ipv4_addr'] }] }, /set name "Block" is not valid/],
    ['a set name with a semicolon', { module: 'dns', sets: [{ name: 'a;flush', type: ['ipv4_addr'] }] }, /is not valid/],
    ['a 33-character chain name', { module: 'dns', chains: [{ name: 'a'.repeat(33), rules: [] }] }, /chain name .* is not valid/],
    ['an invalid module name', { module: 'DNS filter' }, /module name "DNS filter" is not valid/],
    ['an unknown element type', { module: 'dns', sets: [{ name: 'x', type: ['ipv4_addr; flush ruleset'] }] }, /unknown element type/],
    ['a set without a type', { module: 'dns', sets: [{ name: 'x', type: [] }] }, /needs a type/],
    ['an unknown set flag', { module: 'dns', sets: [{ name: 'x', type: ['mark'], flags: ['interval; }'] }] }, /unknown flag/],
    ['a fractional timeout', { module: 'dns', sets: [{ name: 'x', type: ['mark'], timeoutSec: 1.5 }] }, /timeout must be a positive integer/],
    ['a zero size', { module: 'dns', sets: [{ name: 'x', type: ['mark'], size: 0 }] }, /size must be a positive integer/],
    ['an unknown hook point', { module: 'dns', hooks: [{ point: 'anywhere', chain: 'input', rules: [] }] }, /unknown hook point "anywhere"/],
    ['a point in a base chain it is not part of', { module: 'dns', hooks: [{ point: 'dns-redirect', chain: 'forward', rules: [] }] }, /hook point dns-redirect is not in base chain forward/],
    ['a rule object not made by rule', { module: 'dns', chains: [{ name: 'x', rules: [{ text: 'drop; flush ruleset' } as unknown as NftRule] }] }, /text nft must not see/],
    ['a forged rule with a newline', { module: 'dns', chains: [{ name: 'x', rules: [{ text: 'drop\nflush ruleset' } as unknown as NftRule] }] }, /text nft must not see/],
  ] as const) {
    it(`refuses ${what}`, () => {
      assert.throws(() => composeTable('gatehouse', [f as unknown as KernelFragment]), msg);
    });
  }

  it('refuses an invalid table name', () => {
    assert.throws(() => composeTable('gate house', []), /table name "gate house" is not valid/);
  });

  it('rule takes literal text from code only, and refuses a second command or a comment in it', () => {
    const fromConfig = 'drop; flush ruleset';
    const fake = Object.assign([fromConfig], { raw: [fromConfig] }) as unknown as TemplateStringsArray;
    assert.throws(() => rule(fake), /template literal in code/);
    assert.throws(() => rule`drop; flush ruleset`, /characters nft rules here never need/);
    assert.throws(() => rule`drop # comment`, /characters/);
    assert.throws(() => rule`   `, /empty rule/);
    assert.throws(() => rule`ip saddr ${'10.0.0.1' as never} drop`, /rule parts must be made by/);
  });

  it('token constructors refuse what config could smuggle in', () => {
    assert.throws(() => ifnames(['eth0" ; flush ruleset ; "']), /interface name/);
    assert.throws(() => ifnames([]), /at least one/);
    assert.throws(() => setRef('allow4 } ; flush ruleset'), /set name/);
    assert.throws(() => chainRef('Inbound'), /chain name/);
    assert.throws(() => int(-1), /non-negative integer/);
    assert.throws(() => int(1.5), /non-negative integer/);
    assert.throws(() => kw('drop; flush ruleset' as never), /not a rule keyword/);
    assert.equal(rule`${kw('ip6')} ${kw('daddr')} ${setRef('x')} ${kw('drop')}`.text, 'ip6 daddr @x drop');
  });
});
