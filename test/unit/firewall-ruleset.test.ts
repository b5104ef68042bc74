import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTarget } from '../../src/net/ip.js';
import { rangeText, renderAdd, renderEnsureAbsent, renderReplaceIntervalSet } from '../../src/firewall/elements.js';
import { mergeRanges, type ByteRange } from '../../src/net/ranges.js';
import { assertSafeOptions, renderDeleteTable, renderSkeleton, type RulesetOptions } from '../../src/firewall/ruleset.js';

const base: RulesetOptions = {
  table: 'gatehouse',
  lan: ['br-lan'],
  wan: ['eth0', 'wwan0'],
  inbound: 'enforce',
  outbound: 'enforce',
  hitTimeoutSec: 3600,
  hitSetSize: 65536,
};

/** Rules of one chain, in order, as `add rule inet T CHAIN …` lines. */
function rulesOf(script: string, chain: string): string[] {
  const prefix = `add rule inet gatehouse ${chain} `;
  return script
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length));
}

describe('renderSkeleton', () => {
  it('enforce mode drops inbound and rejects outbound after recording the hit', () => {
    const s = renderSkeleton(base);
    for (const f of [4, 6]) {
      assert.equal(rulesOf(s, `in_hit${f}`).at(-1), 'drop');
      assert.deepEqual(rulesOf(s, `out_hit${f}`).slice(-2), ['meta l4proto tcp reject with tcp reset', 'reject with icmpx type admin-prohibited']);
      assert.match(rulesOf(s, `in_hit${f}`)[0]!, new RegExp(`update @hit_in${f} \\{ ip6? daddr \\. ip6? saddr \\. meta l4proto \\. th dport counter \\}`));
      assert.match(rulesOf(s, `out_hit${f}`)[0]!, new RegExp(`update @hit_out${f} \\{ ip6? saddr \\. ip6? daddr`));
    }
    assert.deepEqual(rulesOf(s, 'input'), ['iifname { "eth0", "wwan0" } jump inbound']);
    assert.deepEqual(rulesOf(s, 'forward'), ['iifname { "eth0", "wwan0" } jump inbound', 'oifname { "eth0", "wwan0" } jump outbound']);
    assert.deepEqual(rulesOf(s, 'output'), ['oifname { "eth0", "wwan0" } jump outbound']);
  });

  it('monitor mode records hits but has no verdict', () => {
    const s = renderSkeleton({ ...base, inbound: 'monitor', outbound: 'monitor' });
    for (const chain of ['in_hit4', 'in_hit6', 'out_hit4', 'out_hit6']) {
      const rules = rulesOf(s, chain);
      assert.equal(rules.length, 2, chain);
      assert.ok(rules.every((r) => r.includes('update @hit_') && !/\b(drop|reject|accept)\b/.test(r)), chain);
    }
    // Monitoring still needs the jumps, or nothing would be recorded.
    assert.equal(rulesOf(s, 'forward').length, 2);
  });

  it('mixed modes: the enforced direction has its verdict, the monitored one none', () => {
    const s = renderSkeleton({ ...base, inbound: 'monitor', outbound: 'enforce' });
    assert.ok(!rulesOf(s, 'in_hit4').includes('drop'));
    assert.ok(rulesOf(s, 'out_hit4').includes('reject with icmpx type admin-prohibited'));
  });

  it('off mode removes the jump from the hook chains for that direction', () => {
    const inOff = renderSkeleton({ ...base, inbound: 'off' });
    assert.deepEqual(rulesOf(inOff, 'input'), []);
    assert.deepEqual(rulesOf(inOff, 'forward'), ['oifname { "eth0", "wwan0" } jump outbound']);
    assert.deepEqual(rulesOf(inOff, 'output'), ['oifname { "eth0", "wwan0" } jump outbound']);
    const bothOff = renderSkeleton({ ...base, inbound: 'off', outbound: 'off' });
    for (const hook of ['input', 'forward', 'output']) assert.deepEqual(rulesOf(bothOff, hook), [], hook);
    assert.ok(!bothOff.split('\n').some((l) => /\bjump\b/.test(l)));
    // The hook chains are still flushed, so switching to off removes rules that were there.
    assert.ok(bothOff.includes('flush chain inet gatehouse forward'));
  });

  it('returns on reply packets first, then on the allowlist, before any ban check', () => {
    const s = renderSkeleton(base);
    for (const [chain, field, dir] of [
      ['inbound', 'saddr', 'in'],
      ['outbound', 'daddr', 'out'],
    ] as const) {
      const rules = rulesOf(s, chain);
      assert.equal(rules[0], 'ct direction reply return');
      assert.deepEqual(rules.slice(1, 3), [`ip ${field} @allow4 return`, `ip6 ${field} @allow6 return`]);
      assert.deepEqual(rules.slice(3), [
        `ip ${field} @both_ip4 goto ${dir}_hit4`,
        `ip ${field} @${dir}_ip4 goto ${dir}_hit4`,
        `ip ${field} @${dir}_net4 goto ${dir}_hit4`,
        `ip6 ${field} @both_ip6 goto ${dir}_hit6`,
        `ip6 ${field} @${dir}_ip6 goto ${dir}_hit6`,
        `ip6 ${field} @${dir}_net6 goto ${dir}_hit6`,
      ]);
    }
  });

  it('declares every set with the right type and flags, and the hit sets with timeout and size', () => {
    const s = renderSkeleton({ ...base, hitTimeoutSec: 120, hitSetSize: 1000 });
    const lines = s.split('\n');
    assert.equal(lines[0], 'add table inet gatehouse');
    for (const f of [4, 6] as const) {
      const type = f === 4 ? 'ipv4_addr' : 'ipv6_addr';
      for (const d of ['both', 'in', 'out']) assert.ok(lines.includes(`add set inet gatehouse ${d}_ip${f} { type ${type}; flags timeout; }`));
      for (const d of ['in', 'out']) assert.ok(lines.includes(`add set inet gatehouse ${d}_net${f} { type ${type}; flags interval; }`));
      assert.ok(lines.includes(`add set inet gatehouse allow${f} { type ${type}; flags interval; }`));
      assert.ok(
        lines.includes(
          `add set inet gatehouse hit_out${f} { type ${type} . ${type} . inet_proto . inet_service; flags dynamic,timeout; timeout 120s; size 1000; }`,
        ),
      );
    }
    // Chains are flushed before they are refilled, in the same script: re-applying it never doubles rules.
    for (const chain of ['input', 'forward', 'output', 'inbound', 'outbound', 'in_hit4', 'out_hit6']) {
      const flush = lines.indexOf(`flush chain inet gatehouse ${chain}`);
      const firstRule = lines.findIndex((l) => l.startsWith(`add rule inet gatehouse ${chain} `));
      assert.ok(flush >= 0 && (firstRule === -1 || flush < firstRule), chain);
    }
    assert.ok(lines.some((l) => l === 'add chain inet gatehouse forward { type filter hook forward priority filter - 10; policy accept; }'));
    assert.ok(s.endsWith('\n'));
  });

  it('quotes interface names, including ones with dots, dashes and @', () => {
    const s = renderSkeleton({ ...base, wan: ['eth0.100', 'ppp-0', 'veth@1'] });
    assert.deepEqual(rulesOf(s, 'input'), ['iifname { "eth0.100", "ppp-0", "veth@1" } jump inbound']);
  });
});

describe('assertSafeOptions', () => {
  for (const [what, o, msg] of [
    ['an injection through a WAN name', { wan: ['eth0" ; flush ruleset ; "'] }, /interface name/],
    ['an injection through a LAN name', { lan: ['br0 } ; delete table inet filter ; {'] }, /interface name/],
    ['a newline in a name', { wan: ['eth0\nflush ruleset'] }, /interface name/],
    ['a 16-character name', { wan: ['a23456789012345x'] }, /interface name/],
    ['an empty name', { wan: [''] }, /interface name/],
    ['a quote in a name', { wan: ['eth"0'] }, /interface name/],
    ['no WAN interface', { wan: [] }, /at least one/],
    ['a table name with a space', { table: 'gate house' }, /table/],
    ['a table name with a semicolon', { table: 'gh;flush ruleset' }, /table/],
    ['an upper-case table name', { table: 'Gatehouse' }, /table/],
    ['a table name starting with a digit', { table: '1gate' }, /table/],
    ['an empty table name', { table: '' }, /table/],
    ['a too short hit timeout', { hitTimeoutSec: 5 }, /hit timeout/],
    ['a fractional hit timeout', { hitTimeoutSec: 60.5 }, /hit timeout/],
  ] as const) {
    it(`rejects ${what}, and renderSkeleton renders nothing`, () => {
      const opts = { ...base, ...o } as RulesetOptions;
      assert.throws(() => assertSafeOptions(opts), msg);
      assert.throws(() => renderSkeleton(opts), msg);
    });
  }

  it('accepts a 15-character interface name and a plain table name', () => {
    assert.doesNotThrow(() => assertSafeOptions({ ...base, wan: ['a23456789012345'], table: 'gh_test2' }));
  });

  it('renderDeleteTable checks the table name too', () => {
    assert.equal(renderDeleteTable('gatehouse'), 'delete table inet gatehouse\n');
    assert.throws(() => renderDeleteTable('gatehouse; flush ruleset'), /invalid table name/);
  });
});

const r = (cidr: string): ByteRange => {
  const t = parseTarget(cidr);
  return { start: t.start, end: t.end };
};
const texts = (rs: ByteRange[], f: 4 | 6): string[] => rs.map((x) => rangeText(x, f));

describe('mergeRanges and rangeText', () => {
  it('merges overlapping, contained and adjacent ranges, in any input order', () => {
    assert.deepEqual(texts(mergeRanges([r('10.1.2.0/24'), r('10.1.0.0/16')]), 4), ['10.1.0.0-10.1.255.255']);
    assert.deepEqual(texts(mergeRanges([r('10.0.1.0/24'), r('10.0.0.0/24')]), 4), ['10.0.0.0-10.0.1.255']);
    assert.deepEqual(texts(mergeRanges([r('10.0.0.0/24'), r('10.0.2.0/24')]), 4), ['10.0.0.0-10.0.0.255', '10.0.2.0-10.0.2.255']);
    assert.deepEqual(texts(mergeRanges([r('10.0.0.0/25'), r('10.0.0.64/26'), r('10.0.0.128/25'), r('10.0.1.0')]), 4), ['10.0.0.0-10.0.1.0']);
    assert.deepEqual(mergeRanges([]), []);
  });

  it('handles ranges that end at the very last address without overflowing', () => {
    assert.deepEqual(texts(mergeRanges([r('255.255.255.0/24'), r('255.255.255.255'), r('255.255.0.0/16')]), 4), ['255.255.0.0-255.255.255.255']);
    assert.deepEqual(texts(mergeRanges([r('0.0.0.0/0'), r('1.2.3.4')]), 4), ['0.0.0.0-255.255.255.255']);
    assert.deepEqual(texts(mergeRanges([r('255.255.255.255'), r('0.0.0.0')]), 4), ['0.0.0.0', '255.255.255.255']);
    assert.deepEqual(texts(mergeRanges([r('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), r('ffff::/16')]), 6), ['ffff::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']);
    assert.deepEqual(texts(mergeRanges([r('2001:db8::/33'), r('2001:db8:8000::/33'), r('2001:db9::1')]), 6), ['2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db9::1']);
  });

  it('does not change its input', () => {
    const a = r('10.0.0.0/24');
    const b = r('10.0.0.0/16');
    const aEnd = Buffer.from(a.end);
    mergeRanges([a, b]);
    assert.deepEqual(a.end, aEnd);
  });

  it('merged ranges cover exactly the union (randomized)', () => {
    const seed = Date.now() % 100_000;
    let s = seed;
    const rand = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return (s >>> 8) % n;
    };
    for (let round = 0; round < 200; round++) {
      // A small address space (10.0.0.0/24) so overlaps and adjacency are frequent.
      const inputs = Array.from({ length: 1 + rand(8) }, () => r(`10.0.0.${rand(256)}/${24 + rand(9)}`));
      const merged = mergeRanges(inputs);
      const inAny = (x: number, rs: readonly ByteRange[]): boolean => rs.some((q) => q.start[3]! <= x && x <= q.end[3]!);
      for (let x = 0; x < 256; x++) assert.equal(inAny(x, merged), inAny(x, inputs), `seed ${seed}, address 10.0.0.${x}`);
      for (let i = 1; i < merged.length; i++) assert.ok(merged[i]!.start[3]! > merged[i - 1]!.end[3]! + 1, `seed ${seed}: not merged`);
    }
  });

  it('rangeText writes a single address without a dash', () => {
    assert.equal(rangeText(r('192.0.2.1'), 4), '192.0.2.1');
    assert.equal(rangeText(r('2001:db8::/127'), 6), '2001:db8::-2001:db8::1');
  });
});

describe('element scripts', () => {
  it('renderEnsureAbsent adds then deletes each value in the same set', () => {
    assert.deepEqual(renderEnsureAbsent('gatehouse', 'both_ip4', ['192.0.2.1', '192.0.2.2']), [
      'add element inet gatehouse both_ip4 { 192.0.2.1, 192.0.2.2 }',
      'delete element inet gatehouse both_ip4 { 192.0.2.1, 192.0.2.2 }',
    ]);
    assert.deepEqual(renderEnsureAbsent('gatehouse', 'both_ip4', []), []);
  });

  it('chunks big element lists into lines of at most 5000 elements', () => {
    const many = Array.from({ length: 12_001 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    const lines = renderAdd('gatehouse', 'in_ip4', many);
    assert.equal(lines.length, 3);
    assert.deepEqual(lines.map((l) => l.split(', ').length), [5000, 5000, 2001]);
    const absent = renderEnsureAbsent('gatehouse', 'in_ip4', many);
    assert.equal(absent.length, 6);
    assert.ok(absent.slice(3).every((l) => l.startsWith('delete element inet gatehouse in_ip4 { ')));
  });

  it('renderReplaceIntervalSet flushes then adds the merged ranges', () => {
    assert.deepEqual(renderReplaceIntervalSet('gatehouse', 'in_net4', 4, [r('10.1.0.0/16'), r('10.1.2.0/24'), r('192.0.2.0/24')]), [
      'flush set inet gatehouse in_net4',
      'add element inet gatehouse in_net4 { 10.1.0.0-10.1.255.255, 192.0.2.0-192.0.2.255 }',
    ]);
    assert.deepEqual(renderReplaceIntervalSet('gatehouse', 'in_net6', 6, []), ['flush set inet gatehouse in_net6']);
  });
});
