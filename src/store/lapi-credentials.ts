import type Database from 'better-sqlite3';
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * Who may talk to our CrowdSec-compatible Local API: bouncers (API key) and watchers (machine id +
 * password), plus the alerts watchers push. Secrets are stored only as hashes: a bouncer key as sha256 hex
 * (it is 128 random bits, so a fast hash is enough and lookups stay one index probe), a machine password
 * with scrypt and a per-machine salt (passwords may be chosen by people).
 */

export interface LapiBouncer {
  readonly id: number;
  readonly name: string;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms of the last stream pull; null before the first one. */
  readonly lastPull: number | null;
  readonly ipAddress: string;
  /** From the User-Agent, "crowdsec-firewall-bouncer/v0.0.25" → type + version, as cscli shows them. */
  readonly type: string;
  readonly version: string;
}

export interface LapiMachine {
  readonly id: number;
  readonly machineId: string;
  readonly createdAt: number;
  readonly lastLogin: number | null;
  readonly lastHeartbeat: number | null;
  readonly ipAddress: string;
  readonly scenarios: readonly string[];
}

/** A decision as it was created from an alert, kept with the alert for `GET /v1/alerts`. */
export interface AlertDecisionRef {
  readonly id: number;
  readonly value: string;
  readonly scope: string;
  readonly type: string;
  readonly origin: string;
  readonly scenario: string;
  /** Epoch ms; null = until deleted. */
  readonly expiresAt: number | null;
}

export interface NewLapiAlert {
  readonly machineId: string;
  readonly scenario: string;
  readonly sourceScope: string;
  readonly sourceValue: string;
  readonly createdAt: number;
  readonly decisions: readonly AlertDecisionRef[];
  /** The alert exactly as the watcher sent it (JSON text). */
  readonly raw: string;
}

export interface LapiAlert extends NewLapiAlert {
  readonly id: number;
}

export interface AlertQuery {
  readonly scope?: string;
  readonly value?: string;
  readonly scenario?: string;
  readonly machineId?: string;
  /** Epoch ms: only alerts created at or after. */
  readonly since?: number;
  readonly limit?: number;
}

export class CredentialError extends Error {
  override name = 'CredentialError';
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS lapi_bouncers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_sha256 TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_pull INTEGER,
    ip_address TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT ''
  );
  CREATE TABLE IF NOT EXISTS lapi_machines (
    id INTEGER PRIMARY KEY,
    machine_id TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_login INTEGER,
    last_heartbeat INTEGER,
    ip_address TEXT NOT NULL DEFAULT '',
    scenarios TEXT NOT NULL DEFAULT '[]'
  );
  CREATE TABLE IF NOT EXISTS lapi_alerts (
    id INTEGER PRIMARY KEY,
    machine_id TEXT NOT NULL,
    scenario TEXT NOT NULL,
    source_scope TEXT NOT NULL,
    source_value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    decisions TEXT NOT NULL,
    raw TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS lapi_alerts_created ON lapi_alerts(created_at);
  CREATE INDEX IF NOT EXISTS lapi_alerts_value ON lapi_alerts(source_value);
`;

const NAME = /^[A-Za-z0-9@._:+-]{1,128}$/;
const SCRYPT_KEYLEN = 32;

interface BouncerRow {
  id: number;
  name: string;
  created_at: number;
  last_pull: number | null;
  ip_address: string;
  type: string;
  version: string;
}
interface MachineRow {
  id: number;
  machine_id: string;
  password_hash: string;
  created_at: number;
  last_login: number | null;
  last_heartbeat: number | null;
  ip_address: string;
  scenarios: string;
}
interface AlertRow {
  id: number;
  machine_id: string;
  scenario: string;
  source_scope: string;
  source_value: string;
  created_at: number;
  decisions: string;
  raw: string;
}

const BOUNCER_COLS = 'id, name, created_at, last_pull, ip_address, type, version';

function toBouncer(r: BouncerRow): LapiBouncer {
  return { id: r.id, name: r.name, createdAt: r.created_at, lastPull: r.last_pull, ipAddress: r.ip_address, type: r.type, version: r.version };
}
function toMachine(r: MachineRow): LapiMachine {
  let scenarios: string[] = [];
  try {
    const parsed: unknown = JSON.parse(r.scenarios);
    if (Array.isArray(parsed)) scenarios = parsed.filter((s): s is string => typeof s === 'string');
  } catch {
    // A damaged list only loses the informational scenario names.
  }
  return {
    id: r.id,
    machineId: r.machine_id,
    createdAt: r.created_at,
    lastLogin: r.last_login,
    lastHeartbeat: r.last_heartbeat,
    ipAddress: r.ip_address,
    scenarios,
  };
}
function toAlert(r: AlertRow): LapiAlert {
  return {
    id: r.id,
    machineId: r.machine_id,
    scenario: r.scenario,
    sourceScope: r.source_scope,
    sourceValue: r.source_value,
    createdAt: r.created_at,
    decisions: JSON.parse(r.decisions) as AlertDecisionRef[],
    raw: r.raw,
  };
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

function checkName(kind: string, name: string): void {
  if (!NAME.test(name)) throw new CredentialError(`${kind} name must be 1-128 characters of letters, digits and @._:+- (got ${JSON.stringify(name.slice(0, 40))})`);
}

function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('hex')}$${scryptSync(password, salt, SCRYPT_KEYLEN).toString('hex')}`;
}

/** Splits "type/version" from a User-Agent the way CrowdSec fills `cscli bouncers list`. */
export function parseUserAgent(ua: string | undefined): { type: string; version: string } {
  const first = (ua ?? '').trim().split(/\s+/)[0] ?? '';
  const slash = first.indexOf('/');
  // Printed by `bouncers list`: no control a terminal would obey (header bytes 0x80-0x9F arrive as C1 controls).
  const clip = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, ' ').trim().slice(0, 64);
  return slash < 0 ? { type: clip(first), version: '' } : { type: clip(first.slice(0, slash)), version: clip(first.slice(slash + 1)) };
}

export class LapiCredentials {
  private readonly seen = new Map<number, string>();

  constructor(private readonly db: Database.Database, private readonly clock: () => number = Date.now) {
    db.exec(SCHEMA);
  }

  // ------------------------------------------------------------------------------------------ bouncers

  /** Registers a bouncer and returns its API key in plain text: the only time it exists outside the client. */
  addBouncer(name: string, key?: string): string {
    checkName('bouncer', name);
    // cscli 1.4.6 prints 32 hex characters; same shape, so configs and docs written for it still fit.
    const plain = key ?? randomBytes(16).toString('hex');
    if (plain.length < 16 || plain.length > 256 || /\s/.test(plain)) throw new CredentialError('an API key must be 16-256 characters without spaces');
    try {
      this.db
        .prepare('INSERT INTO lapi_bouncers (name, key_sha256, created_at) VALUES (?, ?, ?)')
        .run(name, sha256Hex(plain), this.clock());
    } catch (e) {
      if (String((e as Error).message).includes('UNIQUE')) {
        const taken = this.db.prepare('SELECT 1 FROM lapi_bouncers WHERE name = ?').get(name);
        throw new CredentialError(taken ? `bouncer ${name} already exists` : 'that API key is already in use');
      }
      throw e;
    }
    return plain;
  }

  listBouncers(): LapiBouncer[] {
    return (this.db.prepare(`SELECT ${BOUNCER_COLS} FROM lapi_bouncers ORDER BY id`).all() as BouncerRow[]).map(toBouncer);
  }

  deleteBouncer(name: string): boolean {
    return this.db.prepare('DELETE FROM lapi_bouncers WHERE name = ?').run(name).changes > 0;
  }

  /** The bouncer owning this key, or undefined. */
  checkBouncerKey(key: string | undefined): LapiBouncer | undefined {
    if (key === undefined || key.length === 0 || key.length > 256) return undefined;
    const hash = sha256Hex(key);
    const row = this.db.prepare(`SELECT ${BOUNCER_COLS}, key_sha256 FROM lapi_bouncers WHERE key_sha256 = ?`).get(hash) as
      | (BouncerRow & { key_sha256: string })
      | undefined;
    // The lookup is by hash, so timing reveals nothing about the key; the compare keeps it that way if
    // the lookup ever changes.
    if (!row || !timingSafeEqual(Buffer.from(row.key_sha256, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
    return toBouncer(row);
  }

  setLastPull(bouncerId: number, at: number): void {
    this.db.prepare('UPDATE lapi_bouncers SET last_pull = ? WHERE id = ?').run(at, bouncerId);
  }

  /** Records where a bouncer connects from and what it is; writes only when something changed. */
  noteBouncerClient(b: LapiBouncer, ip: string, userAgent: string | undefined): void {
    const { type, version } = parseUserAgent(userAgent);
    const sig = `${ip}\n${type}\n${version}`;
    if (this.seen.get(b.id) === sig) return;
    this.seen.set(b.id, sig);
    if (b.ipAddress === ip && b.type === type && b.version === version) return;
    this.db.prepare('UPDATE lapi_bouncers SET ip_address = ?, type = ?, version = ? WHERE id = ?').run(ip, type, version, b.id);
  }

  // ------------------------------------------------------------------------------------------ machines

  /** Registers (or with `force`, re-keys) a watcher; returns its password in plain text. */
  addMachine(machineId: string, password?: string, opts: { force?: boolean } = {}): string {
    checkName('machine', machineId);
    const plain = password ?? randomBytes(32).toString('base64url');
    if (plain.length < 8 || plain.length > 512) throw new CredentialError('a machine password must be 8-512 characters');
    const hash = hashPassword(plain);
    const sql = opts.force
      ? 'INSERT INTO lapi_machines (machine_id, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT(machine_id) DO UPDATE SET password_hash = excluded.password_hash'
      : 'INSERT INTO lapi_machines (machine_id, password_hash, created_at) VALUES (?, ?, ?)';
    try {
      this.db.prepare(sql).run(machineId, hash, this.clock());
    } catch (e) {
      if (String((e as Error).message).includes('UNIQUE')) throw new CredentialError(`machine ${machineId} already exists`);
      throw e;
    }
    return plain;
  }

  listMachines(): LapiMachine[] {
    return (this.db.prepare('SELECT * FROM lapi_machines ORDER BY id').all() as MachineRow[]).map(toMachine);
  }

  getMachine(machineId: string): LapiMachine | undefined {
    const r = this.db.prepare('SELECT * FROM lapi_machines WHERE machine_id = ?').get(machineId) as MachineRow | undefined;
    return r ? toMachine(r) : undefined;
  }

  deleteMachine(machineId: string): boolean {
    return this.db.prepare('DELETE FROM lapi_machines WHERE machine_id = ?').run(machineId).changes > 0;
  }

  /**
   * True when the password matches. Async because scrypt is deliberately slow (~50 ms) and the event loop
   * is serving bouncers meanwhile. An unknown machine costs the same time as a wrong password.
   */
  async checkMachine(machineId: string, password: string): Promise<boolean> {
    const r = this.db.prepare('SELECT password_hash FROM lapi_machines WHERE machine_id = ?').get(machineId) as
      | { password_hash: string }
      | undefined;
    const [scheme, saltHex, hashHex] = (r?.password_hash ?? `scrypt$${'00'.repeat(16)}$${'00'.repeat(SCRYPT_KEYLEN)}`).split('$');
    if (scheme !== 'scrypt' || saltHex === undefined || hashHex === undefined) return false;
    const expected = Buffer.from(hashHex, 'hex');
    const got = await new Promise<Buffer>((resolve, reject) =>
      scrypt(password, Buffer.from(saltHex, 'hex'), expected.length, (err, key) => (err ? reject(err) : resolve(key))),
    );
    return r !== undefined && got.length === expected.length && timingSafeEqual(got, expected);
  }

  noteLogin(machineId: string, ip: string, scenarios: readonly string[]): void {
    this.db
      .prepare('UPDATE lapi_machines SET last_login = ?, ip_address = ?, scenarios = ? WHERE machine_id = ?')
      .run(this.clock(), ip, JSON.stringify(scenarios.slice(0, 1000)), machineId);
  }

  noteHeartbeat(machineId: string): void {
    this.db.prepare('UPDATE lapi_machines SET last_heartbeat = ? WHERE machine_id = ?').run(this.clock(), machineId);
  }

  // ------------------------------------------------------------------------------------------ alerts

  addAlert(a: NewLapiAlert): number {
    return Number(
      this.db
        .prepare(
          'INSERT INTO lapi_alerts (machine_id, scenario, source_scope, source_value, created_at, decisions, raw) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(a.machineId, a.scenario, a.sourceScope, a.sourceValue, a.createdAt, JSON.stringify(a.decisions), a.raw).lastInsertRowid,
    );
  }

  /** Newest first, like `GET /v1/alerts`. */
  listAlerts(q: AlertQuery = {}): LapiAlert[] {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (q.scope !== undefined) {
      where.push('lower(source_scope) = lower(@scope)');
      params.scope = q.scope;
    }
    if (q.value !== undefined) {
      where.push('source_value = @value');
      params.value = q.value;
    }
    if (q.scenario !== undefined) {
      where.push('scenario = @scenario');
      params.scenario = q.scenario;
    }
    if (q.machineId !== undefined) {
      where.push('machine_id = @machine');
      params.machine = q.machineId;
    }
    if (q.since !== undefined) {
      where.push('created_at >= @since');
      params.since = q.since;
    }
    const limit = Math.max(0, Math.min(q.limit ?? 100, 10_000));
    const sql = `SELECT * FROM lapi_alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit}`;
    return (this.db.prepare(sql).all(params) as AlertRow[]).map(toAlert);
  }

  /** Drops alerts older than `olderThan` (epoch ms); decisions they created are not touched. */
  purgeAlerts(olderThan: number): number {
    return this.db.prepare('DELETE FROM lapi_alerts WHERE created_at < ?').run(olderThan).changes;
  }
}
