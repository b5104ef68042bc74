import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../store/index.js';
import { DUMMY_HASH, hashPassword, passwordProblem, verifyPassword } from './password.js';

export interface AdminAccount {
  readonly name: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Logins not yet expired. */
  readonly sessions: number;
}

export interface Session {
  readonly admin: string;
  readonly csrf: string;
  readonly expiresAt: number;
}

export class AccountError extends Error {
  override name = 'AccountError';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Dashboard admins and their sessions, in the store. The CLI and the daemon open the same file, so an
 * account deleted or a password changed from the shell ends that admin's sessions at their next request.
 */
export class AdminAccounts {
  constructor(
    private readonly db: Db,
    private readonly clock: () => number = Date.now,
  ) {}

  async add(name: string, password: string): Promise<void> {
    if (!NAME.test(name)) throw new AccountError(`bad admin name ${JSON.stringify(name)}: letters, digits and . _ @ - (at most 64)`);
    const why = passwordProblem(password);
    if (why) throw new AccountError(why);
    if (this.exists(name)) throw new AccountError(`admin ${name} exists already (use admins passwd to change the password)`);
    const hash = await hashPassword(password);
    const now = this.clock();
    this.db.prepare('INSERT INTO web_admins (name, hash, created_at, updated_at) VALUES (?, ?, ?, ?)').run(name, hash, now, now);
  }

  async passwd(name: string, password: string): Promise<void> {
    if (!this.exists(name)) throw new AccountError(`no admin named ${name}`);
    const why = passwordProblem(password);
    if (why) throw new AccountError(why);
    const hash = await hashPassword(password);
    this.db.transaction(() => {
      this.db.prepare('UPDATE web_admins SET hash = ?, updated_at = ? WHERE name = ?').run(hash, this.clock(), name);
      // A new password ends every login made with the old one.
      this.db.prepare('DELETE FROM web_sessions WHERE admin = ?').run(name);
    })();
  }

  delete(name: string): void {
    const gone = this.db.transaction(() => {
      this.db.prepare('DELETE FROM web_sessions WHERE admin = ?').run(name);
      return this.db.prepare('DELETE FROM web_admins WHERE name = ?').run(name).changes;
    })();
    if (gone === 0) throw new AccountError(`no admin named ${name}`);
  }

  list(): AdminAccount[] {
    return this.db
      .prepare(
        `SELECT name, created_at AS createdAt, updated_at AS updatedAt,
                (SELECT count(*) FROM web_sessions s WHERE s.admin = a.name AND s.expires_at > ?) AS sessions
         FROM web_admins a ORDER BY name`,
      )
      .all(this.clock()) as AdminAccount[];
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM web_admins').get() as { n: number }).n;
  }

  private exists(name: string): boolean {
    return this.db.prepare('SELECT 1 FROM web_admins WHERE name = ?').get(name) !== undefined;
  }

  /** True when the name and password match an account; as slow for an unknown name as for a known one. */
  async verify(name: string, password: string): Promise<boolean> {
    const row = this.db.prepare('SELECT hash FROM web_admins WHERE name = ?').get(name) as { hash: string } | undefined;
    const ok = await verifyPassword(password, row?.hash ?? DUMMY_HASH);
    return ok && row !== undefined;
  }

  /** A new login: the id goes into the cookie and only its hash into the store. */
  openSession(admin: string, ttlMs: number, client: string): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const now = this.clock();
    const expiresAt = now + ttlMs;
    this.db
      .prepare('INSERT INTO web_sessions (id_sha256, admin, csrf, client, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(sha256(id), admin, csrf, client, now, expiresAt);
    return { id, session: { admin, csrf, expiresAt } };
  }

  session(id: string): Session | undefined {
    if (id.length > 128) return undefined;
    const row = this.db
      .prepare('SELECT admin, csrf, expires_at AS expiresAt FROM web_sessions WHERE id_sha256 = ?')
      .get(sha256(id)) as Session | undefined;
    if (!row || row.expiresAt <= this.clock()) return undefined;
    return row;
  }

  closeSession(id: string): void {
    this.db.prepare('DELETE FROM web_sessions WHERE id_sha256 = ?').run(sha256(id));
  }

  purgeExpired(): number {
    return this.db.prepare('DELETE FROM web_sessions WHERE expires_at <= ?').run(this.clock()).changes;
  }
}
