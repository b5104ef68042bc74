import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffEntries } from '../../src/feeds/diff.js';
import { parseList } from '../../src/feeds/parse.js';
import { TargetList } from '../../src/feeds/target-list.js';
import { v4Key } from '../../src/net/fast-target.js';
import { tryParseTarget } from '../../src/net/ip.js';

describe('diffEntries', () => {
  it('finds added, removed and unchanged entries', () => {
    const next = parseList('1.1.1.1\n2.2.2.0/24\n3.3.3.3\n', 'cidr').entries;
    const d = diffEntries(new Set(['1.1.1.1', '9.9.9.9', '2.2.2.0/24']), next);
    assert.deepEqual(d.added.map((t) => t.text), ['3.3.3.3']);
    assert.deepEqual(d.removed, ['9.9.9.9']);
    assert.equal(d.unchanged, 2);
  });

  it('accepts any iterable of texts and handles empty sides', () => {
    const next = parseList('1.1.1.1\n', 'plain').entries;
    assert.deepEqual(diffEntries([], next).added.map((t) => t.text), ['1.1.1.1']);
    assert.deepEqual(diffEntries(['1.1.1.1', '5.5.5.5'], new TargetList()).removed.sort(), ['1.1.1.1', '5.5.5.5']);
  });

  it('diffs two 1,000,000-entry lists', () => {
    const line = (i: number): string => `${(i >>> 16) + 20}.${(i >>> 8) & 255}.${i & 255}.7`;
    const prev = new Set<string>();
    for (let i = 0; i < 1_000_000; i++) prev.add(line(i));
    const parts: string[] = [];
    for (let i = 1000; i < 1_001_000; i++) parts.push(line(i));
    const next = parseList(parts.join('\n'), 'plain').entries;
    const t0 = performance.now();
    const d = diffEntries(prev, next);
    console.log(`# diffed 1,000,000 vs 1,000,000 entries in ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(d.added.length, 1000);
    assert.equal(d.removed.length, 1000);
    assert.equal(d.unchanged, 999_000);
    assert.deepEqual(d.removed.sort(), Array.from({ length: 1000 }, (_, i) => line(i)).sort());
    assert.equal(d.added.at(0)!.text, line(1_000_000));
  });

  it('keys IPv4 texts exactly as parseTarget reads them (randomized)', () => {
    const parts = ['0', '1', '9', '10', '01', '255', '256', '999', '1234', '', 'a', ' '];
    let seed = 7;
    const pick = (): string => parts[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % parts.length]!;
    for (let i = 0; i < 20_000; i++) {
      let s = `${pick()}.${pick()}.${pick()}.${pick()}`;
      if (i % 3 === 0) s += `/${pick()}`;
      const t = tryParseTarget(s);
      const k = v4Key(s);
      if (t === undefined || t.family !== 4) {
        assert.equal(k, -1, `${JSON.stringify(s)} is not an IPv4 address but got a key`);
      } else {
        assert.equal(Math.floor(k / 64), t.start.readUInt32BE(0), s);
        assert.equal(k % 64, t.prefix, s);
      }
    }
  });
});
