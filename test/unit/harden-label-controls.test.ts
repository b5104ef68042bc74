/**
 * Scenarios, origins and reasons arrive from watchers, upstream CrowdSec LAPIs and feeds, and the CLI prints
 * them in the admin's terminal. C0 controls were already turned into spaces; C1 controls (U+009B is a CSI
 * that terminals obey) and bidirectional overrides (which reorder what the admin reads) were not.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDecisionStore } from '../../src/decisions/store-service.js';
import { parseUserAgent } from '../../src/store/lapi-credentials.js';

const HOSTILE = 'a\u009b31mb\u0085c\u202ed\u2066e\u2069f\u200fg\u061ch\u001b[2Ji';

test('texts of decisions and allow entries lose C1 controls and bidi controls, from single adds and batches', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-labels-'));
  const store = openDecisionStore(dir);
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const s = store.service;
  const one = s.add({ value: '192.0.2.1', origin: `lapi:${HOSTILE}`, scenario: HOSTILE, reason: HOSTILE });
  s.addMany([{ value: '192.0.2.2', origin: `feed:${HOSTILE}`, scenario: HOSTILE, reason: HOSTILE }]);
  const many = s.list({ value: '192.0.2.2' })[0]!;
  const allow = s.addAllow({ value: '192.0.2.3', reason: HOSTILE });
  const controls = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
  for (const text of [one.origin, one.scenario, one.reason, many.origin, many.scenario, many.reason, allow.reason]) {
    assert.doesNotMatch(text, controls, JSON.stringify(text));
  }
  assert.equal(one.reason, 'a 31mb c d e f g h [2Ji');
});

test('a bouncer User-Agent loses controls before `bouncers list` prints it as type and version', () => {
  // Node reads header bytes as latin1, so a raw 0x9B byte arrives as U+009B.
  const { type, version } = parseUserAgent('evil\u009b2J\u0085-bouncer/v1\u009b31m\u0080');
  assert.equal(type, 'evil 2J -bouncer');
  assert.equal(version, 'v1 31m');
});
