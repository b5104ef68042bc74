import { randomBytes } from 'node:crypto';
import type { EventPublisher } from '../events/index.js';
import type { ModuleLog } from '../modules/index.js';
import { serialQueue } from '../scheduler/index.js';
import { applyReadings } from './accounting.js';
import type { PortalConfig } from './config.js';
import { bytesLeft, dayKey, grantPlan, loginVerdict, NO_USAGE, reachedLimits, resolveLimits, sessionEnd, weekStartKey, type EffectiveLimits, type Reached, type UserUsage, type VoucherLimits } from './limits.js';
import { LoginRateLimit } from './rate-limit.js';
import type { SessionRepo, SessionRow, UsageRepo } from './session-repo.js';
import type { UserRepo } from './users.js';
import { voucherIdentity, voucherLimits, type VoucherRepo } from './vouchers.js';
import type { AuthMethod, Grant, LimitKind, LoginRefusal, LoginRequest, LoginResult, PortalDevice, PortalKernel, PortalSessions, SessionView } from './types.js';

/*
 * The session manager: who may log in, the sessions' lifecycle and the limits loop. The kernel (PortalKernel)
 * enforces what this decides: a grant per session with its end time and the tightest relogin quota; the loop
 * reads the kernel's counters every poll, books the bytes per session and per user-day, and ends or throttles
 * sessions at their limits. Everything that changes sessions runs one at a time (`exclusive`), so a login
 * racing the loop or an admin's `sessions end` never sees half a change.
 */

/** What the manager needs of the shaper (ShaperApi's): present only when the shaper runs. */
export interface FairUseHook {
  setFairUse(ips: readonly string[], on: boolean, reason: string): Promise<void>;
  /** Groups a user's devices under one share (their addresses), or releases them. */
  setOwner?(ips: readonly string[], owner: string | undefined): Promise<void>;
}

export interface DeviceLookup {
  /** The device behind an address (neighbour table / DHCP leases), with all its addresses. */
  device(ip: string): Promise<PortalDevice | undefined>;
  /** Every device known now (re-reads the neighbour table when it is a few seconds old). */
  devices?(): Promise<readonly PortalDevice[]>;
}

/** How often the loop looks for new addresses of logged-in devices (IPv6 privacy addresses, a new lease). */
const DEVICE_SCAN_MS = 5000;

export interface ManagerDeps {
  readonly config: PortalConfig;
  readonly kernel: PortalKernel;
  readonly devices: DeviceLookup;
  readonly users: UserRepo;
  readonly vouchers: VoucherRepo;
  readonly sessions: SessionRepo;
  readonly usage: UsageRepo;
  readonly bus: EventPublisher;
  readonly log: ModuleLog;
  readonly clock: () => number;
  readonly fairUse?: FairUseHook;
  /** A run-in-a-transaction for the loop's writes (the store's db.transaction). */
  readonly transaction?: (fn: () => void) => void;
}

type EndReason = LimitKind | 'logout' | 'admin' | 'replaced';

export interface EndFilter {
  readonly id?: string;
  readonly user?: string;
  /** An IP or a MAC. */
  readonly client?: string;
}

const ips = (d: PortalDevice): string[] => [...d.ipv4, ...d.ipv6];

export class SessionManager implements PortalSessions {
  private readonly live = new Map<string, SessionRow>();
  private readonly limits = new Map<string, EffectiveLimits>();
  private readonly perClient: LoginRateLimit;
  private readonly perUser: LoginRateLimit;
  private scannedAt = -Infinity;
  private lastDay: string | undefined;

  constructor(private readonly d: ManagerDeps) {
    const r = d.config.login_rate;
    this.perClient = new LoginRateLimit({ failures: r.failures, windowMs: r.window, lockoutMs: r.lockout });
    this.perUser = new LoginRateLimit({ failures: r.failures, windowMs: r.window, lockoutMs: r.lockout });
  }

  /** Session changes never interleave: each runs after every change handed in before it. */
  private readonly exclusive = serialQueue();

  /** Re-asserts the kernel from the store (daemon start): live sessions stay in without a gap, expired ones end. */
  start(): Promise<void> {
    return this.exclusive(async () => {
      const now = this.d.clock();
      const keep: SessionRow[] = [];
      for (const s of this.d.sessions.live()) {
        this.limits.set(s.id, this.limitsOf(s));
        if (s.endsAt <= now) {
          this.live.set(s.id, s);
          await this.finish(s, 'session_time', now, true);
        } else keep.push(s);
      }
      for (const s of keep) this.live.set(s.id, s);
      await this.d.kernel.reassert(keep.map((s) => this.grantOf(s)));
      for (const s of keep) {
        await this.owner(ips(s.device), s.user);
        if (s.state === 'throttled') await this.fairUse(s, true, 'restart');
      }
      if (this.d.config.limits.action === 'throttle' || Object.values(this.d.config.limits.actions).includes('throttle')) {
        if (!this.d.fairUse) this.d.log.warn({}, 'portal limits ask to throttle, but the shaper module is not running: those limits end the session instead (relogin)');
      }
    });
  }

  // ---- PortalSessions ---------------------------------------------------------------------------------

  async login(req: LoginRequest, clientIp: string): Promise<LoginResult> {
    // The password check (scrypt, tens of ms) runs outside the queue: many residents logging in at once, or
    // a guessing device, must not hold up each other or the limits loop. A locked-out client is not checked.
    let verified: boolean | undefined;
    if (req.method === 'accounts' && this.d.config.auth.includes('accounts')) {
      const now = this.d.clock();
      if (this.perClient.waitSec(clientIp, now) === 0 && this.perUser.waitSec(`user:${req.username}`, now) === 0) {
        verified = await this.d.users.verify(req.username, req.password);
      }
    }
    return this.exclusive(() => this.doLogin(req, clientIp, verified));
  }

  logout(clientIp: string): Promise<void> {
    return this.exclusive(async () => {
      const s = this.liveFor(clientIp);
      if (s) await this.finish(s, 'logout', this.d.clock());
    });
  }

  async sessionFor(clientIp: string): Promise<SessionView | undefined> {
    const s = this.liveFor(clientIp) ?? (await this.adopt(clientIp));
    return s ? this.view(s) : undefined;
  }

  async sessionsOf(user: string): Promise<readonly SessionView[]> {
    return [...this.live.values()].filter((s) => s.user === user).map((s) => this.view(s));
  }

  // ---- admin ------------------------------------------------------------------------------------------

  list(): SessionView[] {
    return [...this.live.values()].map((s) => this.view(s));
  }

  /** Ends the sessions matching the filter (an admin's `sessions end`); returns them as they ended. */
  end(f: EndFilter): Promise<SessionView[]> {
    return this.exclusive(async () => {
      const client = f.client?.toLowerCase();
      const hit = [...this.live.values()].filter(
        (s) => (f.id !== undefined && s.id === f.id) || (f.user !== undefined && s.user === f.user) || (client !== undefined && (s.device.mac === client || ips(s.device).includes(client))),
      );
      const out: SessionView[] = [];
      for (const s of hit) {
        await this.finish(s, 'admin', this.d.clock());
        out.push(this.view(s));
      }
      return out;
    });
  }

  // ---- the limits loop ---------------------------------------------------------------------------------

  /** One pass: count bytes, then end or throttle what reached a limit. The module runs it every `portal.poll`. */
  tick(): Promise<void> {
    return this.exclusive(async () => {
      if (this.live.size === 0) return;
      await this.scanDevices();
      const [readings, spent] = await Promise.all([this.d.kernel.usage(), this.d.kernel.spent()]);
      const now = this.d.clock();
      const tally = applyReadings(this.live.values(), readings, now);
      const day = dayKey(now);
      this.write(() => {
        for (const [user, b] of tally.users) this.d.usage.add(user, day, b.down, b.up);
        for (const s of tally.changed) this.d.sessions.update(s as SessionRow);
      });
      if (this.lastDay !== undefined && this.lastDay !== day) await this.renewQuotas(now);
      this.lastDay = day;
      const spentBy = new Map<string, Set<'down' | 'up'>>();
      for (const x of spent) spentBy.set(x.sessionId, (spentBy.get(x.sessionId) ?? new Set()).add(x.direction));
      // The kernel saw a quota spent: that limit ends the session even if the counters lag a packet behind; a
      // spent daily or weekly quota is the user's, so it ends their other devices too.
      const kernelSpent = new Map<string, Set<LimitKind>>();
      for (const s of this.live.values()) {
        for (const dir of spentBy.get(s.id) ?? []) {
          const kind = dir === 'down' ? s.grantDownKind : s.grantUpKind;
          if (!kind) continue;
          const key = kind === 'daily' || kind === 'weekly' ? `user ${s.user}` : `session ${s.id}`;
          kernelSpent.set(key, (kernelSpent.get(key) ?? new Set()).add(kind));
        }
      }
      const usage = new Map<string, UserUsage>();
      for (const s of [...this.live.values()]) {
        let u = usage.get(s.user);
        if (!u) usage.set(s.user, (u = this.userUsage(s.user, now)));
        const l = this.limits.get(s.id)!;
        const reached = reachedLimits(l, s, u, s.endsAt, now);
        for (const kind of [...(kernelSpent.get(`session ${s.id}`) ?? []), ...(kernelSpent.get(`user ${s.user}`) ?? [])]) {
          if (!reached.some((r) => r.kind === kind && r.action === 'relogin')) reached.unshift({ kind, action: 'relogin' });
        }
        await this.act(s, reached, now);
      }
    });
  }

  /**
   * A logged-in device's new addresses (its IPv6 addresses often reach the neighbour table only after the
   * login, when it first uses them) join its session: the kernel grant is keyed by MAC and address, and the
   * neighbour table is what vouches that the address is that MAC's.
   */
  private async scanDevices(): Promise<void> {
    const now = this.d.clock();
    if (!this.d.devices.devices || now - this.scannedAt < DEVICE_SCAN_MS) return;
    this.scannedAt = now;
    let known: readonly PortalDevice[];
    try {
      known = await this.d.devices.devices();
    } catch {
      return;
    }
    const byMac = new Map(known.map((d) => [d.mac.toLowerCase(), d]));
    for (const s of this.live.values()) {
      const d = byMac.get(s.device.mac);
      if (!d) continue;
      const fresh = ips(d).filter((ip) => !ips(s.device).includes(ip));
      if (fresh.length === 0) continue;
      await this.extend(s, fresh);
      this.d.sessions.update(s);
      this.d.log.info({ session: s.id, mac: s.device.mac, added: fresh }, 'portal session now covers new addresses of its device');
    }
  }

  /**
   * A new day (or a week window moving on): sessions whose kernel quota was the user's rest of yesterday get the
   * new day's rest, so a device online over midnight is not cut off by yesterday's quota. The kernel starts a
   * quota with a new limit, and that direction's counters, from zero.
   */
  private async renewQuotas(now: number): Promise<void> {
    for (const s of [...this.live.values()]) {
      const l = this.limits.get(s.id);
      if (!l) continue;
      const plan = grantPlan(l, s, this.userUsage(s.user, now), s.endsAt);
      const down = plan.down?.left ?? null;
      const up = plan.up?.left ?? null;
      const user = (k: string | null | undefined) => k === 'daily' || k === 'weekly';
      const renewDown = down !== s.grantDown && (user(s.grantDownKind) || user(plan.down?.kind));
      const renewUp = up !== s.grantUp && (user(s.grantUpKind) || user(plan.up?.kind));
      if (!renewDown && !renewUp) continue;
      if (renewDown) [s.grantDown, s.grantDownKind] = [down, plan.down?.kind ?? null];
      if (renewUp) [s.grantUp, s.grantUpKind] = [up, plan.up?.kind ?? null];
      try {
        await this.d.kernel.grant(this.grantOf(s));
      } catch (e) {
        this.d.log.error({ session: s.id, err: (e as Error).message }, 'portal: renewing a session quota for the new day failed');
        continue;
      }
      s.counters = Object.fromEntries(Object.entries(s.counters).map(([ip, [d, u]]) => [ip, [renewDown ? 0 : d, renewUp ? 0 : u] as const]));
      this.d.sessions.update(s);
      this.d.log.info({ session: s.id, user: s.user, downloadLeft: s.grantDown, uploadLeft: s.grantUp }, 'portal session quota renewed for the new day');
    }
  }

  private async act(s: SessionRow, reached: readonly Reached[], now: number): Promise<void> {
    const first = reached[0];
    if (first?.action === 'relogin') {
      this.d.bus.publish('portal.limit_reached', { sessionId: s.id, user: s.user, mac: s.device.mac, limit: first.kind, action: 'relogin', at: now });
      await this.finish(s, first.kind, now);
    } else if (first && s.state === 'active') {
      this.d.bus.publish('portal.limit_reached', { sessionId: s.id, user: s.user, mac: s.device.mac, limit: first.kind, action: 'throttle', at: now });
      await this.fairUse(s, true, first.kind);
      s.state = 'throttled';
      this.d.sessions.update(s);
      this.d.bus.publish('portal.throttled', { sessionId: s.id, user: s.user, ips: ips(s.device), limit: first.kind, at: now });
    } else if (!first && s.state === 'throttled') {
      // A new day (or week) freed the quota that throttled it.
      await this.fairUse(s, false, 'quota renewed');
      s.state = 'active';
      this.d.sessions.update(s);
    }
  }

  // ---- login ------------------------------------------------------------------------------------------

  private async doLogin(req: LoginRequest, clientIp: string, verified: boolean | undefined): Promise<LoginResult> {
    const now = this.d.clock();
    const user = req.method === 'accounts' ? req.username : undefined;
    const refuse = (reason: LoginRefusal, extra: { retryAfterSec?: number; limit?: LimitKind; mac?: string } = {}): LoginResult => {
      this.d.bus.publish('portal.login_failed', {
        client: clientIp,
        ...(extra.mac ? { mac: extra.mac } : {}),
        ...(user !== undefined ? { user: user.slice(0, 64) } : {}),
        reason,
        ...(extra.retryAfterSec ? { retryAfterSec: extra.retryAfterSec } : {}),
        at: now,
      });
      return { ok: false, reason, ...(extra.retryAfterSec ? { retryAfterSec: extra.retryAfterSec } : {}), ...(extra.limit ? { limit: extra.limit } : {}) };
    };
    if (!this.d.config.auth.includes(req.method)) return refuse('method_off');
    const wait = Math.max(this.perClient.waitSec(clientIp, now), user !== undefined ? this.perUser.waitSec(`user:${user}`, now) : 0);
    if (wait > 0) return refuse('rate_limited', { retryAfterSec: wait });
    const found = await this.d.devices.device(clientIp);
    if (!found) return refuse('unknown_client');
    const device = withAddress(found, clientIp);
    const wrong = (): LoginResult => {
      const locked = Math.max(this.perClient.fail(clientIp, now), user !== undefined ? this.perUser.fail(`user:${user}`, now) : 0);
      return locked > 0 ? refuse('rate_limited', { retryAfterSec: locked, mac: device.mac }) : refuse('bad_credentials', { mac: device.mac });
    };

    let identity: string;
    let voucher: { id: number; limits: VoucherLimits; takeUse: boolean } | undefined;
    if (req.method === 'accounts') {
      if (!(verified ?? (await this.d.users.verify(req.username, req.password)))) return wrong();
      identity = req.username;
    } else if (req.method === 'vouchers') {
      const v = this.d.vouchers.lookup(req.code);
      if (!v) return wrong();
      identity = voucherIdentity(v.prefix);
      // The same device logging in again on its voucher takes no new use.
      const takeUse = !this.d.sessions.voucherUsedBy(v.id, device.mac);
      // Used up on other devices: the page says "not valid or used up" (logging out elsewhere frees no use).
      if (takeUse && v.used >= v.uses) return refuse('bad_credentials', { mac: device.mac });
      voucher = { id: v.id, limits: voucherLimits(v), takeUse };
    } else {
      // Click-through guests are known by their device only: the status page must not show one guest another's.
      identity = `guest:${device.mac}`;
    }

    const limits = resolveLimits(this.d.config.limits, this.d.fairUse !== undefined, req.method === 'accounts' ? this.d.config.user_limits[identity] : undefined, voucher?.limits);
    const sameDevice = [...this.live.values()].filter((s) => s.device.mac === device.mac || ips(s.device).some((ip) => ips(device).includes(ip)));
    const others = new Set([...this.live.values()].filter((s) => s.user === identity && !sameDevice.includes(s)).map((s) => s.device.mac)).size;
    const usage = this.userUsage(identity, now);
    const verdict = loginVerdict(limits, usage, others, voucher?.limits, now);
    if (!verdict.ok) return refuse(verdict.reason, { limit: verdict.limit, mac: device.mac });
    let voucherLim = voucher?.limits;
    if (voucher?.takeUse) {
      const r = this.d.vouchers.redeem(req.method === 'vouchers' ? req.code : '');
      if (!r.ok) return r.why === 'expired' ? refuse('limit_reached', { limit: 'session_time', mac: device.mac }) : refuse('bad_credentials', { mac: device.mac });
      voucherLim = r.limits;
    }

    this.perClient.succeed(clientIp);
    if (user !== undefined) this.perUser.succeed(`user:${user}`);
    for (const s of sameDevice) await this.finish(s, 'replaced', now);

    const effective = voucherLim ? resolveLimits(this.d.config.limits, this.d.fairUse !== undefined, undefined, voucherLim) : limits;
    const endsAt = sessionEnd(effective, now, voucherLim);
    const plan = grantPlan(effective, { startedAt: now, lastActivity: now, bytesDown: 0, bytesUp: 0 }, usage, endsAt);
    const s: SessionRow = {
      id: randomBytes(8).toString('hex'),
      user: identity,
      method: req.method,
      voucherId: voucher?.id ?? null,
      device,
      startedAt: now,
      endsAt,
      lastActivity: now,
      bytesDown: 0,
      bytesUp: 0,
      grantDown: plan.down?.left ?? null,
      grantDownKind: plan.down?.kind ?? null,
      grantUp: plan.up?.left ?? null,
      grantUpKind: plan.up?.kind ?? null,
      counters: {},
      state: 'active',
      endReason: null,
      endedAt: null,
    };
    this.d.sessions.insert(s);
    try {
      await this.d.kernel.grant(this.grantOf(s));
    } catch (e) {
      s.state = 'ended';
      s.endReason = 'admin';
      s.endedAt = now;
      this.d.sessions.update(s);
      throw e;
    }
    this.live.set(s.id, s);
    this.limits.set(s.id, effective);
    await this.owner(ips(device), identity);
    this.d.bus.publish('portal.login', { sessionId: s.id, user: identity, method: req.method, mac: device.mac, ips: ips(device), at: now });
    this.d.log.info({ session: s.id, user: identity, mac: device.mac, ips: ips(device) }, 'portal login');
    if (verdict.throttled) await this.act(s, [{ kind: verdict.throttled, action: 'throttle' }], now);
    return { ok: true, session: this.view(s) };
  }

  // ---- helpers ----------------------------------------------------------------------------------------

  private async finish(s: SessionRow, reason: EndReason, now: number, kernelGone = false): Promise<void> {
    try {
      await this.d.kernel.revoke(this.grantOf(s));
    } catch (e) {
      // The session still ends in the store; the kernel drops its elements at their timeout at the latest.
      if (!kernelGone) this.d.log.error({ session: s.id, err: (e as Error).message }, 'portal: revoking a session in the kernel failed');
    }
    if (s.state === 'throttled') await this.fairUse(s, false, 'session ended');
    await this.owner(ips(s.device), undefined);
    s.state = 'ended';
    s.endReason = reason === 'replaced' ? 'logout' : reason;
    s.endedAt = now;
    this.d.sessions.update(s);
    this.live.delete(s.id);
    this.limits.delete(s.id);
    this.d.bus.publish('portal.logout', { sessionId: s.id, user: s.user, mac: s.device.mac, ips: ips(s.device), reason, bytesDown: s.bytesDown, bytesUp: s.bytesUp, at: now });
    this.d.log.info({ session: s.id, user: s.user, reason }, 'portal session ended');
  }

  private async fairUse(s: SessionRow, on: boolean, reason: string): Promise<void> {
    try {
      await this.d.fairUse?.setFairUse(ips(s.device), on, `portal ${s.user}: ${reason}`);
    } catch (e) {
      this.d.log.error({ session: s.id, err: (e as Error).message }, 'portal: the shaper refused the fair-use change');
    }
  }

  private liveFor(ip: string): SessionRow | undefined {
    const want = ip.toLowerCase();
    for (const s of this.live.values()) if (ips(s.device).includes(want)) return s;
    return undefined;
  }

  /**
   * An address no session has, of a device that has one (a new DHCP lease, an IPv6 privacy address): the
   * neighbour table must show it at that session's MAC; then the session covers it too.
   */
  async adopt(ip: string): Promise<SessionRow | undefined> {
    if ([...this.live.values()].length === 0) return undefined;
    const dev = await this.d.devices.device(ip);
    if (!dev) return undefined;
    return this.exclusive(async () => {
      const s = [...this.live.values()].find((x) => x.device.mac === dev.mac);
      if (!s || ips(s.device).includes(ip)) return s;
      await this.extend(s, [ip]);
      this.d.sessions.update(s);
      this.d.log.info({ session: s.id, mac: s.device.mac, ip }, 'portal session now covers a new address of its device');
      return s;
    });
  }

  /**
   * Adds addresses to a live session: granted on their own (same session, same quota), so the counters of the
   * addresses it already has are not reset and nothing they counted is lost.
   */
  private async extend(s: SessionRow, added: readonly string[]): Promise<void> {
    const part: PortalDevice = { mac: s.device.mac, ipv4: added.filter((ip) => !ip.includes(':')), ipv6: added.filter((ip) => ip.includes(':')) };
    await this.d.kernel.grant({ ...this.grantOf(s), device: part });
    let device = s.device;
    for (const ip of added) device = withAddress(device, ip);
    (s as { device: PortalDevice }).device = device;
    await this.owner(added, s.user);
    if (s.state === 'throttled') await this.d.fairUse?.setFairUse(added, true, `portal ${s.user}: new address`).catch(() => undefined);
  }

  /** The shaper's share follows the user (with the shaper running): their devices share one. */
  private async owner(addrs: readonly string[], user: string | undefined): Promise<void> {
    try {
      await this.d.fairUse?.setOwner?.(addrs, user);
    } catch (e) {
      this.d.log.error({ err: (e as Error).message }, 'portal: the shaper refused to group a user\'s devices');
    }
  }

  private grantOf(s: SessionRow): Grant {
    return {
      sessionId: s.id,
      device: s.device,
      untilMs: s.endsAt,
      ...(s.grantDown !== null ? { downloadLeft: s.grantDown } : {}),
      ...(s.grantUp !== null ? { uploadLeft: s.grantUp } : {}),
    };
  }

  private limitsOf(s: SessionRow): EffectiveLimits {
    const voucher = s.voucherId !== null ? this.d.vouchers.byId(s.voucherId) : undefined;
    return resolveLimits(this.d.config.limits, this.d.fairUse !== undefined, s.method === 'accounts' ? this.d.config.user_limits[s.user] : undefined, voucher ? voucherLimits(voucher) : undefined);
  }

  private userUsage(user: string, now: number): UserUsage {
    return this.d.usage.of(user, dayKey(now), weekStartKey(now)) ?? NO_USAGE;
  }

  private write(fn: () => void): void {
    if (this.d.transaction) this.d.transaction(fn);
    else fn();
  }

  view(s: SessionRow): SessionView {
    const l = this.limits.get(s.id);
    const left = l ? bytesLeft(l, s, this.userUsage(s.user, this.d.clock())) : {};
    return {
      id: s.id,
      user: s.user,
      method: s.method as AuthMethod,
      device: s.device,
      startedAt: s.startedAt,
      endsAt: s.endsAt,
      lastActivity: s.lastActivity,
      bytesDown: s.bytesDown,
      bytesUp: s.bytesUp,
      ...(left.down !== undefined ? { downloadLeft: left.down } : {}),
      ...(left.up !== undefined ? { uploadLeft: left.up } : {}),
      state: s.state,
      ...(s.endReason ? { endReason: s.endReason } : {}),
    };
  }
}

/** The device with the address the request came from (the neighbour table may not list it yet). */
function withAddress(d: PortalDevice, ip: string): PortalDevice {
  const v6 = ip.includes(':');
  const list = v6 ? d.ipv6 : d.ipv4;
  const device = { mac: d.mac.toLowerCase(), ipv4: [...d.ipv4], ipv6: [...d.ipv6] };
  if (!list.includes(ip)) (v6 ? device.ipv6 : device.ipv4).push(ip);
  return device;
}
