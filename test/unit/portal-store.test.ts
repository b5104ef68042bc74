/**
 * Portal accounts and vouchers in a real SQLite file: passwords only as scrypt hashes, voucher codes only as
 * hashes, a voucher's uses taken atomically, a CSV import that skips bad lines and says why.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { migrate } from '../../src/store/migrations.js';
import { portalMigrations } from '../../src/portal/schema.js';
import { UserRepo } from '../../src/portal/users.js';
import { normalizeCode, VoucherRepo } from '../../src/portal/vouchers.js';

const dir = mkdtempSync(join(tmpdir(), 'portal-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function open() {
  const path = join(dir, `g${++n}.db`);
  const db = new Database(path);
  migrate(db, [portalMigrations]);
  return { db, path };
}

describe('portal accounts', () => {
  it('stores a scrypt hash, never the password; checks it; a new password replaces the old', async () => {
    const { db, path } = open();
    const users = new UserRepo(db, () => 1000);
    await users.add('alice', 'correct horse battery');
    const row = db.prepare('SELECT hash FROM portal_users WHERE name = ?').get('alice') as { hash: string };
    assert.match(row.hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    db.close();
    assert.ok(!readFileSync(path).includes('correct horse battery'), 'the password is nowhere in the file');
    const again = new UserRepo(new Database(path));
    assert.equal(await again.verify('alice', 'correct horse battery'), true);
    assert.equal(await again.verify('alice', 'correct horse batterY'), false);
    assert.equal(await again.verify('bob', 'correct horse battery'), false, 'an unknown user is refused like a wrong password');
    await again.passwd('alice', 'new and longer');
    assert.equal(await again.verify('alice', 'correct horse battery'), false);
    assert.equal(await again.verify('alice', 'new and longer'), true);
  });

  it('refuses bad names, short passwords, duplicates; delete and list', async () => {
    const { db } = open();
    const users = new UserRepo(db);
    await assert.rejects(users.add('a b', 'longenough'), /user name is 1-64 characters/);
    await assert.rejects(users.add('bob', 'short'), /at least 8 characters/);
    await users.add('bob', 'longenough');
    await assert.rejects(users.add('bob', 'longenough'), /exists already/);
    assert.deepEqual(users.list().map((u) => u.name), ['bob']);
    users.delete('bob');
    assert.throws(() => users.delete('bob'), /no user named bob/);
    assert.deepEqual(users.list(), []);
  });

  it('imports name,password lines: header and comments skipped, bad lines counted with the reason, existing users updated', async () => {
    const { db } = open();
    const users = new UserRepo(db);
    await users.add('carol', 'old password');
    const r = await users.import('name,password\n# residents\ndave,dave-secret-1\n"erin","pass,with,commas"\nfrank,short\nbad name,whatever123\ncarol,new password\n\n');
    assert.deepEqual({ added: r.added, updated: r.updated, skipped: r.skipped }, { added: 2, updated: 1, skipped: 2 });
    assert.deepEqual(r.problems, ['line 5: a password has at least 8 characters', 'line 6: "bad name": a user name is 1-64 characters from A-Z a-z 0-9 . _ @ -, starting with a letter or digit']);
    assert.equal(await users.verify('erin', 'pass,with,commas'), true);
    assert.equal(await users.verify('carol', 'new password'), true);
  });
});

describe('portal vouchers', () => {
  it('prints codes once and stores only their hash and a unique 4-character prefix', () => {
    const { db, path } = open();
    const v = new VoucherRepo(db, () => 5000);
    const codes = v.create({ count: 20, timeMs: 8 * 3_600_000, download: 5e9, uses: 1 });
    assert.equal(codes.length, 20);
    for (const c of codes) assert.match(c, /^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
    assert.equal(new Set(codes.map((c) => c.slice(0, 4))).size, 20);
    const list = v.list();
    assert.deepEqual(list[0], { id: list[0]!.id, prefix: codes[0]!.slice(0, 4), timeMs: 8 * 3_600_000, download: 5e9, upload: null, uses: 1, used: 0, firstUsedAt: null, createdAt: 5000 });
    db.close();
    const file = readFileSync(path);
    for (const c of codes) assert.ok(!file.includes(normalizeCode(c)), 'no code is in the file');
  });

  it('a 1-use voucher is taken once; spaces, dashes and case do not matter; its time counts from the first use', () => {
    const { db } = open();
    let now = 1000;
    const v = new VoucherRepo(db, () => now);
    const [code] = v.create({ count: 1, timeMs: 60_000, uses: 1 });
    const typed = code!.toLowerCase().replace(/-/g, ' ');
    const first = v.redeem(typed);
    assert.ok(first.ok);
    assert.equal(first.identity, `voucher:${code!.slice(0, 4)}`);
    assert.deepEqual(first.limits, { timeMs: 60_000, validUntil: 61_000 });
    assert.deepEqual(v.redeem(code!), { ok: false, why: 'used_up' });
    assert.deepEqual(v.redeem('AAAA-BBBB-CCCC'), { ok: false, why: 'unknown' });
    const [two] = v.create({ count: 1, timeMs: 60_000, uses: 2 });
    assert.ok(v.redeem(two!).ok);
    now = 70_000;
    assert.deepEqual(v.redeem(two!), { ok: false, why: 'expired' }, 'a use left, but the time since the first use is over');
  });

  it('deletes by prefix or by code', () => {
    const { db } = open();
    const v = new VoucherRepo(db);
    const codes = v.create({ count: 2, uses: 1 });
    assert.equal(v.delete(codes[0]!.slice(0, 4).toLowerCase()), 1);
    assert.equal(v.delete(codes[1]!), 1);
    assert.equal(v.delete(codes[1]!), 0);
    assert.deepEqual(v.list(), []);
  });
});
