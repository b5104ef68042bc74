import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byTextPrefix } from '../../src/decisions/index-order.js';

test('bulk rows come out in text order of their first characters, as the SQLite index sorts them', () => {
  const values = ['203.0.113.9', '10.0.0.1', '2001:db8::1', '1.2.3.4', '198.51.100.7', '100.64.0.1', '9.9.9.9'];
  const got = byTextPrefix(values, (v) => v, 16);
  assert.deepEqual(got, [...values].sort());
});

test('equal prefixes keep their input order, so the last line of a repeated value still wins', () => {
  const rows = [
    { v: '185.220.101.1', line: 1 },
    { v: '1.1.1.1', line: 2 },
    { v: '185.220.101.1', line: 3 },
    { v: '185.220.100.9', line: 4 },
  ];
  const got = byTextPrefix(rows, (r) => r.v, 8).map((r) => r.line);
  // "185.220." is the shared 8-character prefix of lines 1, 3 and 4: they stay in input order.
  assert.deepEqual(got, [2, 1, 3, 4]);
});

test('random batches match a full sort on the prefix', () => {
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0), x);
  const values = Array.from({ length: 5000 }, () => `${rnd() % 256}.${rnd() % 256}.${rnd() % 256}.${rnd() % 256}`);
  const got = byTextPrefix(values, (v) => v, 8);
  const want = values
    .map((v, i) => ({ v, i }))
    .sort((a, b) => (a.v.slice(0, 8) < b.v.slice(0, 8) ? -1 : a.v.slice(0, 8) > b.v.slice(0, 8) ? 1 : a.i - b.i))
    .map((r) => r.v);
  assert.deepEqual(got, want);
  assert.deepEqual(byTextPrefix([], (v: string) => v), []);
});
