import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secureDataDir } from '../../src/store/data-dir.js';
import { openDecisionStore } from '../../src/decisions/store-service.js';

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

test('an existing 0755 data dir and 0644 files are tightened, and each change is reported', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'gh-datadir-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'data');
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'gatehouse.db'), '');
  chmodSync(join(dir, 'gatehouse.db'), 0o644);
  writeFileSync(join(dir, 'lapi-jwt.key'), 'k', { mode: 0o640 });
  const changes = secureDataDir(dir);
  assert.deepEqual(
    changes.map((c) => [c.path, c.was, c.now]),
    [
      [dir, '755', '700'],
      [join(dir, 'gatehouse.db'), '644', '600'],
      [join(dir, 'lapi-jwt.key'), '640', '600'],
    ],
  );
  assert.deepEqual(secureDataDir(dir), [], 'nothing left to change');
});

test('a fresh data dir: the database, its WAL and SHM are created 0600 inside a 0700 dir, with nothing to report', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'gh-datadir-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'nested', 'data');
  assert.deepEqual(secureDataDir(dir), []);
  const store = openDecisionStore(dir);
  store.service.add({ value: '192.0.2.1', origin: 'manual' });
  assert.equal(mode(dir), '700');
  for (const f of ['gatehouse.db', 'gatehouse.db-wal', 'gatehouse.db-shm']) assert.equal(mode(join(dir, f)), '600', f);
  store.close();
});
