import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LapiCredentials, parseUserAgent, sha256Hex } from '../../src/store/lapi-credentials.js';
import { LapiAlerts } from '../../src/store/lapi-alerts.js';
import { lapiMigrations } from '../../src/store/lapi-schema.js';
import { migrate } from '../../src/store/migrations.js';

function withDb(fn: (db: Database.Database, path: string) => Promise<void> | void) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lapi-cred-'));
    const path = join(dir, 'g.db');
    const db = new Database(path);
    migrate(db, [lapiMigrations]);
    try {
      await fn(db, path);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('bouncer keys: shaped like cscli, stored only as sha256, checked, survive a reopen', withDb((db, path) => {
  const c = new LapiCredentials(db, () => 1000);
  const key = c.addBouncer('fw1');
  assert.match(key, /^[0-9a-f]{32}$/);
  const raw = db.prepare('SELECT * FROM lapi_bouncers').all() as Record<string, unknown>[];
  assert.equal(JSON.stringify(raw).includes(key), false, 'plaintext key must not be stored');
  assert.equal(raw[0]!.key_sha256, sha256Hex(key));
  assert.equal(c.checkBouncerKey(key)?.name, 'fw1');
  assert.equal(c.checkBouncerKey(key.toUpperCase()), undefined);
  assert.equal(c.checkBouncerKey(''), undefined);
  assert.equal(c.checkBouncerKey(undefined), undefined);
  assert.throws(() => c.addBouncer('fw1'), /already exists/);
  assert.throws(() => c.addBouncer('bad name'), /name must be/);
  const mine = c.addBouncer('fw2', 'my-own-key-0123456789');
  assert.equal(mine, 'my-own-key-0123456789');
  assert.throws(() => c.addBouncer('fw3', 'my-own-key-0123456789'), /already in use/);
  c.setLastPull(c.checkBouncerKey(key)!.id, 5000);
  c.noteBouncerClient(c.checkBouncerKey(key)!, '10.0.0.5', 'crowdsec-firewall-bouncer/v0.0.25');
  const db2 = new Database(path);
  try {
    const again = new LapiCredentials(db2);
    const b = again.listBouncers().find((x) => x.name === 'fw1')!;
    assert.deepEqual([b.lastPull, b.ipAddress, b.type, b.version], [5000, '10.0.0.5', 'crowdsec-firewall-bouncer', 'v0.0.25']);
    assert.equal(again.deleteBouncer('fw1'), true);
    assert.equal(again.checkBouncerKey(key), undefined);
    assert.equal(again.deleteBouncer('fw1'), false);
  } finally {
    db2.close();
  }
}));

test('machines: scrypt-hashed passwords, wrong password / unknown machine refused, force re-keys', withDb(async (db) => {
  const c = new LapiCredentials(db);
  const pw = c.addMachine('agent1');
  assert.ok(pw.length >= 32);
  const row = db.prepare('SELECT password_hash FROM lapi_machines').get() as { password_hash: string };
  assert.match(row.password_hash, /^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
  assert.equal(await c.checkMachine('agent1', pw), true);
  assert.equal(await c.checkMachine('agent1', pw + 'x'), false);
  assert.equal(await c.checkMachine('nobody', pw), false);
  assert.throws(() => c.addMachine('agent1', 'another-password'), /already exists/);
  c.addMachine('agent1', 'another-password', { force: true });
  assert.equal(await c.checkMachine('agent1', pw), false);
  assert.equal(await c.checkMachine('agent1', 'another-password'), true);
  c.noteLogin('agent1', '10.0.0.9', ['crowdsecurity/ssh-bf']);
  assert.deepEqual(c.getMachine('agent1')?.scenarios, ['crowdsecurity/ssh-bf']);
  assert.equal(c.deleteMachine('agent1'), true);
  assert.equal(await c.checkMachine('agent1', 'another-password'), false);
}));

test('alerts are kept raw and listed newest first with filters', withDb((db) => {
  const c = new LapiAlerts(db);
  const base = { machineId: 'w', sourceScope: 'Ip', decisions: [], raw: '{"x":1}' };
  c.add({ ...base, scenario: 'a', sourceValue: '192.0.2.1', createdAt: 1 });
  c.add({ ...base, scenario: 'b', sourceValue: '192.0.2.2', createdAt: 2 });
  assert.deepEqual(c.list().map((a) => a.scenario), ['b', 'a']);
  assert.deepEqual(c.list({ value: '192.0.2.1' }).map((a) => a.raw), ['{"x":1}']);
  assert.deepEqual(c.list({ limit: 1 }).length, 1);
  assert.equal(c.purge(2), 1);
}));

test('User-Agent splits into type and version like cscli bouncers list', () => {
  assert.deepEqual(parseUserAgent('crowdsec-firewall-bouncer/-'), { type: 'crowdsec-firewall-bouncer', version: '-' });
  assert.deepEqual(parseUserAgent('anchor-curl/1.0'), { type: 'anchor-curl', version: '1.0' });
  assert.deepEqual(parseUserAgent(undefined), { type: '', version: '' });
});
