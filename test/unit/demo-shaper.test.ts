import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rateTable } from '../../src/cli/commands/demo-shaper.js';

test("the demo's rate table: one row per resident, one column per phase, aligned", () => {
  const t = rateTable([
    { title: 'no shaper', bps: [42.2e6, 5.4e6, 0.3e6] },
    { title: 'shaper', bps: [16.3e6, 15.8e6, 13.1e6] },
  ]);
  const lines = t.split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^resident\s+no shaper\s+shaper$/);
  assert.match(lines[1]!, /^alice \(16 connections\)\s+42\.2 Mbit\/s\s+16\.3 Mbit\/s$/);
  assert.match(lines[3]!, /^carol .*\s+0\.3 Mbit\/s\s+13\.1 Mbit\/s$/);
  assert.equal(new Set(lines.map((l) => l.length)).size, 1, 'columns line up');
});
