import type { StoreHandle } from '../modules/index.js';
import { isUserName, USER_NAME_RULE } from './config.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';

/** Account problems the API answers with 400/404/409. */
export class AccountError extends Error {
  override name = 'AccountError';
  constructor(
    message: string,
    readonly kind: 'bad' | 'missing' | 'exists',
  ) {
    super(message);
  }
}

export interface PortalUser {
  readonly name: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface ImportResult {
  readonly added: number;
  readonly updated: number;
  readonly skipped: number;
  /** The first few skipped lines with the reason, e.g. "line 4: a password has at least 8 characters". */
  readonly problems: readonly string[];
}

/** Portal accounts: names with scrypt hashes (passwords never stored or logged). */
export class UserRepo {
  constructor(
    private readonly db: StoreHandle,
    private readonly clock: () => number = Date.now,
  ) {}

  list(): PortalUser[] {
    return this.db.prepare<[], PortalUser>('SELECT name, created_at AS createdAt, updated_at AS updatedAt FROM portal_users ORDER BY name').all();
  }

  exists(name: string): boolean {
    return this.db.prepare('SELECT 1 FROM portal_users WHERE name = ?').get(name) !== undefined;
  }

  async add(name: string, password: string): Promise<void> {
    check(name, password);
    if (this.exists(name)) throw new AccountError(`user ${name} exists already (change the password with: gatehouse users passwd ${name})`, 'exists');
    const hash = await hashPassword(password);
    const now = this.clock();
    const r = this.db.prepare('INSERT OR IGNORE INTO portal_users (name, hash, created_at, updated_at) VALUES (?, ?, ?, ?)').run(name, hash, now, now);
    if (r.changes === 0) throw new AccountError(`user ${name} exists already`, 'exists');
  }

  async passwd(name: string, password: string): Promise<void> {
    check(name, password);
    if (!this.exists(name)) throw new AccountError(`no user named ${name}`, 'missing');
    const hash = await hashPassword(password);
    this.db.prepare('UPDATE portal_users SET hash = ?, updated_at = ? WHERE name = ?').run(hash, this.clock(), name);
  }

  delete(name: string): void {
    if (this.db.prepare('DELETE FROM portal_users WHERE name = ?').run(name).changes === 0) throw new AccountError(`no user named ${name}`, 'missing');
  }

  /** True when the name exists and the password matches; as slow for an unknown name as for a wrong password. */
  async verify(name: string, password: string): Promise<boolean> {
    const row = isUserName(name) ? this.db.prepare<[string], { hash: string }>('SELECT hash FROM portal_users WHERE name = ?').get(name) : undefined;
    return verifyPassword(password, row?.hash);
  }

  /**
   * `name,password` per line (a header line `name,password` and # comments are skipped); an existing user gets
   * the new password. Bad lines are counted and shown, never fail the whole import.
   */
  async import(csv: string): Promise<ImportResult> {
    let added = 0;
    let updated = 0;
    let skipped = 0;
    const problems: string[] = [];
    const lines = csv.split(/\r?\n/);
    for (const [i, raw] of lines.entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || (i === 0 && /^"?(name|user|username)"?\s*,/i.test(line))) continue;
      const comma = line.indexOf(',');
      const name = unquote(comma < 0 ? line : line.slice(0, comma));
      const password = comma < 0 ? '' : unquote(line.slice(comma + 1));
      try {
        check(name, password);
        if (this.exists(name)) {
          await this.passwd(name, password);
          updated++;
        } else {
          await this.add(name, password);
          added++;
        }
      } catch (e) {
        skipped++;
        if (problems.length < 5) problems.push(`line ${i + 1}: ${(e as Error).message}`);
      }
    }
    return { added, updated, skipped, problems };
  }
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/""/g, '"') : t;
}

function check(name: string, password: string): void {
  if (!isUserName(name)) throw new AccountError(`${JSON.stringify(name.slice(0, 70))}: ${USER_NAME_RULE}`, 'bad');
  const p = passwordProblem(password);
  if (p) throw new AccountError(p, 'bad');
}
