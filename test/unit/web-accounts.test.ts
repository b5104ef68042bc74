import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/store/index.js';
import { AdminAccounts, webMigrations } from '../../src/web/index.js';

function fresh(t: { after(f: () => void): void }, clock?: () => number) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-web-accounts-'));
  const db = openDb(dir, undefined, [webMigrations]);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { db, accounts: new AdminAccounts(db, clock) };
}

describe('dashboard admin accounts', () => {
  it('verifies the right password only, and keeps no password text in the store', async (t) => {
    const { db, accounts } = fresh(t);
    await accounts.add('alice', 'correct horse battery');
    assert.equal(await accounts.verify('alice', 'correct horse battery'), true);
    assert.equal(await accounts.verify('alice', 'correct horse batterY'), false);
    assert.equal(await accounts.verify('bob', 'correct horse battery'), false, 'unknown name');
    const row = db.prepare('SELECT hash FROM web_admins').get() as { hash: string };
    assert.match(row.hash, /^scrypt\$/);
    assert.ok(!row.hash.includes('correct horse'));
  });

  it('refuses a short password, a bad name and a second account of the same name, with the reason', async (t) => {
    const { accounts } = fresh(t);
    await assert.rejects(accounts.add('alice', 'short'), /at least 10 characters/);
    await assert.rejects(accounts.add('al ice', 'long enough password'), /bad admin name/);
    await accounts.add('alice', 'long enough password');
    await assert.rejects(accounts.add('alice', 'another long password'), /exists already/);
    assert.deepEqual(accounts.list().map((a) => a.name), ['alice']);
  });

  it('stores only the hash of a session id; a session ends at its expiry, on logout, on passwd and on delete', async (t) => {
    let now = 1_000_000;
    const { db, accounts } = fresh(t, () => now);
    await accounts.add('alice', 'correct horse battery');
    const a = accounts.openSession('alice', 60_000, '10.0.0.2');
    assert.equal(accounts.session(a.id)?.admin, 'alice');
    assert.equal(accounts.session(a.id)?.csrf, a.session.csrf);
    const stored = db.prepare('SELECT id_sha256 FROM web_sessions').all() as { id_sha256: string }[];
    assert.ok(stored.every((r) => r.id_sha256 !== a.id), 'the cookie value is not in the store');
    assert.equal(accounts.session('not-a-session'), undefined);

    now += 60_001;
    assert.equal(accounts.session(a.id), undefined, 'expired');

    const b = accounts.openSession('alice', 60_000, '10.0.0.2');
    accounts.closeSession(b.id);
    assert.equal(accounts.session(b.id), undefined, 'logged out');

    const c = accounts.openSession('alice', 60_000, '10.0.0.2');
    await accounts.passwd('alice', 'a brand new password');
    assert.equal(accounts.session(c.id), undefined, 'a new password ends old logins');
    assert.equal(await accounts.verify('alice', 'a brand new password'), true);

    const d = accounts.openSession('alice', 60_000, '10.0.0.2');
    accounts.delete('alice');
    assert.equal(accounts.session(d.id), undefined, 'a deleted admin is logged out');
    assert.throws(() => accounts.delete('alice'), /no admin named alice/);
  });
});
