import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateCidrs, intervalToCidrs } from '../../src/crowdsec/mirror/aggregate.js';
import { parseTarget, covers } from '../../src/net/ip.js';

const agg = (xs: string[]) => aggregateCidrs(xs.map(parseTarget)).map((a) => a.target.text);

test('adjacent halves merge into their parent', () => {
  assert.deepEqual(agg(['10.0.0.0/25', '10.0.0.128/25']), ['10.0.0.0/24']);
  assert.deepEqual(agg(['2001:db8::/33', '2001:db8:8000::/33']), ['2001:db8::/32']);
});

test('contained and overlapping entries disappear into the covering range; members are tracked', () => {
  const r = aggregateCidrs(['10.0.0.5', '10.0.0.0/24', '10.0.0.200', '10.0.1.0/24'].map(parseTarget));
  assert.deepEqual(r.map((a) => a.target.text), ['10.0.0.0/23']);
  assert.deepEqual([...r[0]!.members].sort(), [0, 1, 2, 3]);
});

test('non-aligned runs split into the fewest CIDRs; families stay apart; v4 before v6', () => {
  // 10.0.0.1 - 10.0.0.6 = .1/32 .2/31 .4/31 .6/32
  assert.deepEqual(agg(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']),
    ['10.0.0.1', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6']);
  assert.deepEqual(agg(['2001:db8::1', '192.0.2.1', '192.0.2.0']), ['192.0.2.0/31', '2001:db8::1']);
  assert.deepEqual(agg(['0.0.0.0/1', '128.0.0.0/1']), ['0.0.0.0/0']);
  assert.deepEqual(agg([]), []);
});

test('random inputs: output covers exactly the input addresses with disjoint, non-mergeable CIDRs', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (let round = 0; round < 200; round++) {
    const inputs = Array.from({ length: 1 + rnd(12) }, () => parseTarget(`10.0.${rnd(4)}.${rnd(256)}/${24 + rnd(9)}`));
    const out = aggregateCidrs(inputs).map((a) => a.target);
    // Every address of the /22 is covered by output iff covered by some input.
    for (let a = 0; a < 1024; a++) {
      const ip = parseTarget(`10.0.${a >> 8}.${a & 255}`);
      const inIn = inputs.some((t) => covers(t, ip));
      const inOut = out.filter((t) => covers(t, ip)).length;
      assert.equal(inOut, inIn ? 1 : 0, `address 10.0.${a >> 8}.${a & 255}`);
    }
    // Minimal: the CIDR cover of each merged interval is what intervalToCidrs gives, and no two outputs are
    // mergeable siblings.
    for (let i = 1; i < out.length; i++) {
      const a = out[i - 1]!;
      const b = out[i]!;
      const sibling = a.prefix === b.prefix && a.prefix > 0 && parseTarget(`${a.text.split('/')[0]}/${a.prefix - 1}`).end.equals(b.end);
      assert.ok(!sibling, `${a.text} and ${b.text} should have merged`);
    }
  }
});

test('intervalToCidrs handles the whole IPv6 space and single addresses', () => {
  assert.deepEqual(intervalToCidrs(6, 0n, (1n << 128n) - 1n).map((t) => t.text), ['::/0']);
  assert.deepEqual(intervalToCidrs(4, 5n, 5n).map((t) => t.text), ['0.0.0.5']);
});
