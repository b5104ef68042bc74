import type { StoreHandle } from '../modules/index.js';
import type { TrafficLimit } from './limits.js';
import type { AuthMethod, LimitKind, PortalDevice, SessionState } from './types.js';

/*
 * Sessions and per-user per-day usage in the store: the truth a restart re-asserts the kernel from, and what
 * `sessions list` shows. Counters are the kernel's per-address readings the bytes were last counted at, so a
 * restart neither loses nor double-counts what the kernel still holds.
 */

export interface SessionRow {
  readonly id: string;
  readonly user: string;
  readonly method: AuthMethod;
  readonly voucherId: number | null;
  readonly device: PortalDevice;
  readonly startedAt: number;
  readonly endsAt: number;
  lastActivity: number;
  bytesDown: number;
  bytesUp: number;
  /** What the kernel quota was set to at grant, and which limit set it. */
  grantDown: number | null;
  grantDownKind: TrafficLimit | null;
  grantUp: number | null;
  grantUpKind: TrafficLimit | null;
  /** Last kernel counter reading per address: "ip" → [down, up]. */
  counters: Record<string, readonly [number, number]>;
  state: SessionState;
  endReason: LimitKind | 'logout' | 'admin' | null;
  endedAt: number | null;
}

interface Raw {
  id: string;
  user: string;
  method: string;
  voucher_id: number | null;
  mac: string;
  ipv4: string;
  ipv6: string;
  started_at: number;
  ends_at: number;
  last_activity: number;
  bytes_down: number;
  bytes_up: number;
  grant_down: number | null;
  grant_down_kind: string | null;
  grant_up: number | null;
  grant_up_kind: string | null;
  counters: string;
  state: string;
  end_reason: string | null;
  ended_at: number | null;
}

function fromRaw(r: Raw): SessionRow {
  return {
    id: r.id,
    user: r.user,
    method: r.method as AuthMethod,
    voucherId: r.voucher_id,
    device: { mac: r.mac, ipv4: JSON.parse(r.ipv4) as string[], ipv6: JSON.parse(r.ipv6) as string[] },
    startedAt: r.started_at,
    endsAt: r.ends_at,
    lastActivity: r.last_activity,
    bytesDown: r.bytes_down,
    bytesUp: r.bytes_up,
    grantDown: r.grant_down,
    grantDownKind: r.grant_down_kind as TrafficLimit | null,
    grantUp: r.grant_up,
    grantUpKind: r.grant_up_kind as TrafficLimit | null,
    counters: JSON.parse(r.counters) as Record<string, readonly [number, number]>,
    state: r.state as SessionState,
    endReason: r.end_reason as SessionRow['endReason'],
    endedAt: r.ended_at,
  };
}

export class SessionRepo {
  constructor(private readonly db: StoreHandle) {}

  insert(s: SessionRow): void {
    this.db
      .prepare(
        `INSERT INTO portal_sessions (id, user, method, voucher_id, mac, ipv4, ipv6, started_at, ends_at, last_activity, bytes_down, bytes_up,
           grant_down, grant_down_kind, grant_up, grant_up_kind, counters, state, end_reason, ended_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        s.id, s.user, s.method, s.voucherId, s.device.mac, JSON.stringify(s.device.ipv4), JSON.stringify(s.device.ipv6), s.startedAt, s.endsAt,
        s.lastActivity, s.bytesDown, s.bytesUp, s.grantDown, s.grantDownKind, s.grantUp, s.grantUpKind, JSON.stringify(s.counters), s.state, s.endReason, s.endedAt,
      );
  }

  /** Writes what changes while a session lives (counts, grant, state, addresses). */
  update(s: SessionRow): void {
    this.db
      .prepare(
        `UPDATE portal_sessions SET ipv4 = ?, ipv6 = ?, last_activity = ?, bytes_down = ?, bytes_up = ?, grant_down = ?, grant_down_kind = ?,
           grant_up = ?, grant_up_kind = ?, counters = ?, state = ?, end_reason = ?, ended_at = ? WHERE id = ?`,
      )
      .run(
        JSON.stringify(s.device.ipv4), JSON.stringify(s.device.ipv6), s.lastActivity, s.bytesDown, s.bytesUp, s.grantDown, s.grantDownKind,
        s.grantUp, s.grantUpKind, JSON.stringify(s.counters), s.state, s.endReason, s.endedAt, s.id,
      );
  }

  live(): SessionRow[] {
    return this.db.prepare<[], Raw>(`SELECT * FROM portal_sessions WHERE state != 'ended' ORDER BY started_at, id`).all().map(fromRaw);
  }

  get(id: string): SessionRow | undefined {
    const r = this.db.prepare<[string], Raw>('SELECT * FROM portal_sessions WHERE id = ?').get(id);
    return r ? fromRaw(r) : undefined;
  }

  /** Whether this device ever had a session on this voucher (logging in again takes no new use). */
  voucherUsedBy(voucherId: number, mac: string): boolean {
    return this.db.prepare('SELECT 1 FROM portal_sessions WHERE voucher_id = ? AND mac = ? LIMIT 1').get(voucherId, mac) !== undefined;
  }

  /** Ended sessions older than this go (the usage table keeps the per-day totals). */
  purgeEnded(before: number): number {
    return this.db.prepare(`DELETE FROM portal_sessions WHERE state = 'ended' AND ended_at < ?`).run(before).changes;
  }
}

export class UsageRepo {
  constructor(private readonly db: StoreHandle) {}

  add(user: string, day: string, down: number, up: number): void {
    if (down === 0 && up === 0) return;
    this.db
      .prepare('INSERT INTO portal_usage (user, day, down, up) VALUES (?, ?, ?, ?) ON CONFLICT(user, day) DO UPDATE SET down = down + excluded.down, up = up + excluded.up')
      .run(user, day, down, up);
  }

  /** Bytes of one user on one day, and from `weekStart` to `day` inclusive. */
  of(user: string, day: string, weekStart: string): { dayDown: number; dayUp: number; weekDown: number; weekUp: number } {
    const d = this.db.prepare<[string, string], { down: number; up: number }>('SELECT down, up FROM portal_usage WHERE user = ? AND day = ?').get(user, day);
    const w = this.db
      .prepare<[string, string, string], { down: number | null; up: number | null }>('SELECT SUM(down) AS down, SUM(up) AS up FROM portal_usage WHERE user = ? AND day >= ? AND day <= ?')
      .get(user, weekStart, day);
    return { dayDown: d?.down ?? 0, dayUp: d?.up ?? 0, weekDown: w?.down ?? 0, weekUp: w?.up ?? 0 };
  }

  purge(beforeDay: string): number {
    return this.db.prepare('DELETE FROM portal_usage WHERE day < ?').run(beforeDay).changes;
  }
}
