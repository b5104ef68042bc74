import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffEntries } from '../../src/feeds/diff.js';
import { parseList } from '../../src/feeds/parse.js';

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
    assert.deepEqual(diffEntries(['1.1.1.1', '5.5.5.5'], []).removed, ['1.1.1.1', '5.5.5.5']);
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
    assert.equal(d.removed[0], line(0));
    assert.equal(d.added[0]!.text, line(1_000_000));
  });
});
