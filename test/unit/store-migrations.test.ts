import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openDecisionStore } from '../../src/decisions/store-service.js';
import { LapiAlerts } from '../../src/store/lapi-alerts.js';
import { LapiCredentials } from '../../src/store/lapi-credentials.js';
import { lapiMigrations } from '../../src/store/lapi-schema.js';
import { storeMigrations } from '../../src/store/db.js';
import { appliedSteps, migrate, MigrationError, type Migrations } from '../../src/store/migrations.js';

/** A database file written by the code before per-module migrations (int: user_version 1, LAPI tables made by the credentials store). */
const BEFORE = new URL('../fixtures/gatehouse-before-migrations.db', import.meta.url).pathname;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-migrate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a gateway database made before per-module migrations upgrades in place and keeps its data', async (t) => {
  const dir = tempDir(t);
  copyFileSync(BEFORE, join(dir, 'gatehouse.db'));
  const store = openDecisionStore(dir, { migrations: [lapiMigrations] });
  t.after(() => store.close());
  assert.deepEqual(store.service.list().map((d) => d.value).sort(), ['198.51.100.7', '203.0.113.0/24']);
  const creds = new LapiCredentials(store.db);
  assert.equal(creds.checkBouncerKey('oldbouncerkey-0123456789')?.name, 'old-bouncer');
  assert.equal(await creds.checkMachine('old-watcher', 'old-watcher-password'), true);
  const alerts = new LapiAlerts(store.db);
  assert.deepEqual(alerts.list().map((a) => [a.machineId, a.sourceValue, a.origin]), [['old-watcher', '198.51.100.9', null]]);
  // Both modules are at their last step, and the step that came after the old schema ran.
  assert.equal(appliedSteps(store.db, 'store'), storeMigrations.steps.length);
  assert.equal(appliedSteps(store.db, 'lapi'), lapiMigrations.steps.length);
  assert.equal(alerts.originAlert('manual', 5).origin, 'manual');
  // Alert ids are not reused once the newest is purged: cscli's `alerts inspect N` never shows another alert.
  const newest = alerts.add({ machineId: 'w', scenario: 's', sourceScope: 'Ip', sourceValue: '192.0.2.1', createdAt: 1, decisions: [], raw: '{}' });
  alerts.purge(2);
  assert.ok(alerts.add({ machineId: 'w', scenario: 's', sourceScope: 'Ip', sourceValue: '192.0.2.1', createdAt: 3, decisions: [], raw: '{}' }) > newest);
});

test('a fresh database gets every module, and opening it again runs nothing twice', (t) => {
  const dir = tempDir(t);
  openDecisionStore(dir, { migrations: [lapiMigrations] }).close();
  const again = openDecisionStore(dir, { migrations: [lapiMigrations] });
  t.after(() => again.close());
  assert.equal(appliedSteps(again.db, 'lapi'), lapiMigrations.steps.length);
  assert.ok(again.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'lapi_alerts_origin'").get());
  assert.equal(again.db.pragma('user_version', { simple: true }), 1, 'what the code before migrations reads, so a rollback still opens the file');
});

test('steps run once each, in order, per module; a failing step leaves its module at the step before', (t) => {
  const db = new Database(join(tempDir(t), 'm.db'));
  t.after(() => db.close());
  const a: Migrations = { module: 'alpha', steps: ['CREATE TABLE a (x INTEGER)', 'ALTER TABLE a ADD COLUMN y INTEGER'] };
  migrate(db, [a]);
  migrate(db, [a]);
  assert.equal(appliedSteps(db, 'alpha'), 2);
  const grown: Migrations = { ...a, steps: [...a.steps, (d) => d.exec('INSERT INTO a (x, y) VALUES (1, 2)'), 'CREATE TABLE a (broken)'] };
  assert.throws(() => migrate(db, [grown]), /already exists/);
  assert.equal(appliedSteps(db, 'alpha'), 3, 'the good step is kept, the failed one rolled back');
  assert.equal((db.prepare('SELECT count(*) AS n FROM a').get() as { n: number }).n, 1);
});

test('a database written by a newer Gatehouse, duplicate or bad module names are refused with a clear error', (t) => {
  const db = new Database(join(tempDir(t), 'm.db'));
  t.after(() => db.close());
  migrate(db, [{ module: 'alpha', steps: ['CREATE TABLE a (x)', 'CREATE TABLE b (x)'] }]);
  assert.throws(() => migrate(db, [{ module: 'alpha', steps: ['CREATE TABLE a (x)'] }]), (e: Error) => e instanceof MigrationError && /newer version/.test(e.message));
  assert.throws(() => migrate(db, [{ module: 'beta', steps: [] }, { module: 'beta', steps: [] }]), /two modules/);
  assert.throws(() => migrate(db, [{ module: 'Bad Name', steps: [] }]), /lower-case/);
});
