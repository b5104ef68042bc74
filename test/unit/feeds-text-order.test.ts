import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inTextOrder } from '../../src/feeds/text-order.js';
import { TargetList } from '../../src/feeds/target-list.js';
import { parseToken } from '../../src/net/fast-target.js';
import type { Target } from '../../src/net/ip.js';

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
}

describe('feeds: text order for the store', () => {
  it('orders IPv4 hosts exactly as their texts sort, keeps every entry once, and puts IPv6 last in list order', () => {
    const next = lcg(7);
    const texts = new Set<string>();
    while (texts.size < 20_000) {
      const n = next();
      texts.add(`${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`);
    }
    // Short octets next to long ones: "1.2.3.4" against "10.2.3.4" and "100.2.3.4".
    for (const t of ['1.2.3.4', '10.2.3.4', '100.2.3.4', '9.0.0.0', '255.255.255.255', '0.0.0.0']) texts.add(t);
    const v6 = ['2001:db8::2', '2001:db8::1'].map((t) => parseToken(t)!);
    const input: Target[] = [...[...texts].map((t) => parseToken(t)!), ...v6];
    const out = [...inTextOrder(TargetList.from(input))];
    assert.equal(out.length, input.length);
    assert.deepEqual(out.slice(0, texts.size).map((t) => t.text), [...texts].sort());
    assert.deepEqual(out.slice(texts.size), v6);
  });

  it('puts a range beside the host with the same first address, in list order', () => {
    const out = [...inTextOrder(TargetList.from(['198.51.100.0/24', '2.0.0.0', '198.51.100.0', '198.51.100.1'].map((t) => parseToken(t)!)))];
    assert.deepEqual(out.map((t) => t.text), ['198.51.100.0/24', '198.51.100.0', '198.51.100.1', '2.0.0.0']);
  });
});
