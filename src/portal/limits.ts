import type { LimitOverride, PortalLimitsConfig } from './config.js';
import type { LimitAction, LimitKind } from './types.js';

/*
 * The handle's rules, pure: which limits apply to a session, what the kernel is told (time and quotas), which
 * limit a session has reached and what happens then. No clock, no store: the session manager passes `now` and
 * the usage it has counted, so every rule is tested with plain numbers.
 */

export type TrafficLimit = 'session_download' | 'session_upload' | 'daily' | 'weekly';

export interface Quota {
  readonly down?: number;
  readonly up?: number;
}

/** The limits of one session: config defaults, then the user's override, then the voucher's. */
export interface EffectiveLimits {
  readonly sessionTimeMs?: number;
  readonly idleMs?: number;
  readonly download?: number;
  readonly upload?: number;
  readonly daily: Quota;
  readonly weekly: Quota;
  readonly maxDevices?: number;
  /** Per traffic limit, already resolved (throttle only where a shaper runs). */
  readonly actions: Readonly<Record<TrafficLimit, LimitAction>>;
}

/** What a voucher carries (`vouchers create --time --traffic`): replaces the session time and download limit. */
export interface VoucherLimits {
  readonly timeMs?: number;
  readonly download?: number;
  readonly upload?: number;
  /** Epoch ms: the voucher's time counts from its first use, over all its sessions. */
  readonly validUntil?: number;
}

/** Without a session time the kernel still needs an end: a year, re-asserted at every daemon start. */
export const NO_SESSION_TIME_MS = 365 * 86_400_000;

function fromOverride(o: LimitOverride) {
  return {
    sessionTimeMs: o.session_time,
    idleMs: o.idle,
    download: o.download,
    upload: o.upload,
    daily: o.daily ? { down: o.daily.download, up: o.daily.upload } : undefined,
    weekly: o.weekly ? { down: o.weekly.download, up: o.weekly.upload } : undefined,
    maxDevices: o.max_devices,
  };
}

/** Later layers win where they say something; a layer's quota object replaces the one below it. */
export function resolveLimits(config: PortalLimitsConfig, throttleAvailable: boolean, user?: LimitOverride, voucher?: VoucherLimits): EffectiveLimits {
  const base = fromOverride(config);
  const u = user ? fromOverride(user) : undefined;
  const pick = <K extends keyof typeof base>(k: K) => (u?.[k] !== undefined ? u[k] : base[k]);
  const action = (k: TrafficLimit): LimitAction => {
    const a = config.actions[k] ?? config.action;
    // No shaper, no slow lane: the session ends instead (the module logs this once at start).
    return a === 'throttle' && throttleAvailable ? 'throttle' : 'relogin';
  };
  const out: {
    -readonly [K in keyof EffectiveLimits]: EffectiveLimits[K];
  } = {
    daily: strip(pick('daily') ?? {}),
    weekly: strip(pick('weekly') ?? {}),
    actions: { session_download: action('session_download'), session_upload: action('session_upload'), daily: action('daily'), weekly: action('weekly') },
  };
  const set = <K extends 'sessionTimeMs' | 'idleMs' | 'download' | 'upload' | 'maxDevices'>(k: K, v: number | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('sessionTimeMs', pick('sessionTimeMs'));
  set('idleMs', pick('idleMs'));
  set('download', pick('download'));
  set('upload', pick('upload'));
  set('maxDevices', pick('maxDevices'));
  if (voucher) {
    set('sessionTimeMs', voucher.timeMs);
    set('download', voucher.download);
    set('upload', voucher.upload);
  }
  return out;
}

function strip(q: Quota): Quota {
  return { ...(q.down !== undefined ? { down: q.down } : {}), ...(q.up !== undefined ? { up: q.up } : {}) };
}

/** A session's own counts. */
export interface SessionUsage {
  readonly startedAt: number;
  readonly lastActivity: number;
  readonly bytesDown: number;
  readonly bytesUp: number;
}

/** The user's counts over all devices: today, and the last 7 days including today. */
export interface UserUsage {
  readonly dayDown: number;
  readonly dayUp: number;
  readonly weekDown: number;
  readonly weekUp: number;
}

export const NO_USAGE: UserUsage = { dayDown: 0, dayUp: 0, weekDown: 0, weekUp: 0 };

/** When the session ends by time: its own session time, cut short by a voucher's validity. */
export function sessionEnd(l: EffectiveLimits, startedAt: number, voucher?: VoucherLimits): number {
  const own = startedAt + (l.sessionTimeMs ?? NO_SESSION_TIME_MS);
  return voucher?.validUntil !== undefined ? Math.min(own, voucher.validUntil) : own;
}

interface Left {
  readonly kind: TrafficLimit;
  readonly left: number;
  /** At or below this many bytes left the quota counts as spent (see QUOTA_SLACK_BYTES). */
  readonly slack: number;
}

/**
 * The kernel drops the packet that would cross a quota, so the counters of a spent quota stop short of the
 * limit by up to one packet (64 KiB with GRO/GSO). A quota with no more than that left is spent: otherwise a
 * login could be let in with a few bytes of its day, and a user's other devices would never see the day end.
 */
export const QUOTA_SLACK_BYTES = 65_536;
const slackOf = (limit: number) => Math.min(QUOTA_SLACK_BYTES, Math.floor(limit / 2));

/** Bytes left under each limit of one direction, in the order a tie is named (session first). */
function leftOf(l: EffectiveLimits, dir: 'down' | 'up', s: SessionUsage, u: UserUsage): Left[] {
  const out: Left[] = [];
  const session = dir === 'down' ? l.download : l.upload;
  if (session !== undefined) out.push({ kind: dir === 'down' ? 'session_download' : 'session_upload', left: session - (dir === 'down' ? s.bytesDown : s.bytesUp), slack: slackOf(session) });
  const day = l.daily[dir];
  if (day !== undefined) out.push({ kind: 'daily', left: day - (dir === 'down' ? u.dayDown : u.dayUp), slack: slackOf(day) });
  const week = l.weekly[dir];
  if (week !== undefined) out.push({ kind: 'weekly', left: week - (dir === 'down' ? u.weekDown : u.weekUp), slack: slackOf(week) });
  return out;
}

/** What the kernel is told for one direction: the smallest allowance among the limits whose action is relogin. */
export interface KernelQuota {
  readonly left: number;
  readonly kind: TrafficLimit;
}

export interface GrantPlan {
  readonly untilMs: number;
  readonly down?: KernelQuota;
  readonly up?: KernelQuota;
}

/**
 * The kernel's part of a session: the end time and, per direction, the tightest relogin limit (throttle limits
 * are watched by the loop instead: the kernel must not stop a flow that should only slow down).
 */
export function grantPlan(l: EffectiveLimits, s: SessionUsage, u: UserUsage, endsAt: number): GrantPlan {
  const quota = (dir: 'down' | 'up'): KernelQuota | undefined => {
    let best: KernelQuota | undefined;
    for (const x of leftOf(l, dir, s, u)) {
      if (l.actions[x.kind] !== 'relogin') continue;
      if (!best || x.left < best.left) best = { kind: x.kind, left: Math.max(0, x.left) };
    }
    return best;
  };
  const down = quota('down');
  const up = quota('up');
  return { untilMs: endsAt, ...(down ? { down } : {}), ...(up ? { up } : {}) };
}

export interface Reached {
  readonly kind: LimitKind;
  readonly action: LimitAction;
}

/**
 * The limits a live session has reached, most decisive first: an ending limit (time, idle, a relogin quota)
 * before a throttling one. Empty when the session may go on as it is.
 */
export function reachedLimits(l: EffectiveLimits, s: SessionUsage, u: UserUsage, endsAt: number, now: number): Reached[] {
  const out: Reached[] = [];
  if (now >= endsAt) out.push({ kind: 'session_time', action: 'relogin' });
  if (l.idleMs !== undefined && now - s.lastActivity >= l.idleMs) out.push({ kind: 'idle', action: 'relogin' });
  const seen = new Set<LimitKind>();
  for (const dir of ['down', 'up'] as const) {
    for (const x of leftOf(l, dir, s, u)) {
      if (x.left > x.slack || seen.has(x.kind)) continue;
      seen.add(x.kind);
      out.push({ kind: x.kind, action: l.actions[x.kind] });
    }
  }
  return out.sort((a, b) => (a.action === b.action ? 0 : a.action === 'relogin' ? -1 : 1));
}

export type LoginVerdict = { readonly ok: true; readonly throttled?: TrafficLimit } | { readonly ok: false; readonly limit: LimitKind; readonly reason: 'limit_reached' | 'too_many_devices' };

/**
 * May this identity start a session on a device now? `otherDevices` counts its live sessions on other MACs (the
 * same MAC logging in again replaces its session). A spent quota refuses when its action is relogin, and lets
 * the device in at once throttled when it is throttle.
 */
export function loginVerdict(l: EffectiveLimits, u: UserUsage, otherDevices: number, voucher?: VoucherLimits, now?: number): LoginVerdict {
  if (voucher?.validUntil !== undefined && now !== undefined && now >= voucher.validUntil) return { ok: false, limit: 'session_time', reason: 'limit_reached' };
  if (l.maxDevices !== undefined && otherDevices >= l.maxDevices) return { ok: false, limit: 'max_devices', reason: 'too_many_devices' };
  const fresh: SessionUsage = { startedAt: 0, lastActivity: 0, bytesDown: 0, bytesUp: 0 };
  let throttled: TrafficLimit | undefined;
  for (const dir of ['down', 'up'] as const) {
    for (const x of leftOf(l, dir, fresh, u)) {
      if (x.left > x.slack) continue;
      if (l.actions[x.kind] === 'relogin') return { ok: false, limit: x.kind, reason: 'limit_reached' };
      throttled ??= x.kind;
    }
  }
  return throttled ? { ok: true, throttled } : { ok: true };
}

/** The local calendar day of an instant, e.g. "2026-12-01": per-user daily quotas reset at local midnight. */
export function dayKey(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** The first day of the 7-day window ending today. */
export function weekStartKey(ms: number): string {
  const d = new Date(ms);
  return dayKey(new Date(d.getFullYear(), d.getMonth(), d.getDate() - 6, 12).getTime());
}

/**
 * Bytes since the previous reading of one kernel counter. A counter that went down was reset (the element was
 * re-added): what it shows now is all new.
 */
export function counterDelta(previous: number | undefined, current: number): number {
  if (previous === undefined) return current;
  return current >= previous ? current - previous : current;
}

/** Bytes left per direction under every limit (any action), for display; undefined where none applies. */
export function bytesLeft(l: EffectiveLimits, s: SessionUsage, u: UserUsage): { down?: number; up?: number } {
  const min = (dir: 'down' | 'up') => {
    const xs = leftOf(l, dir, s, u);
    return xs.length === 0 ? undefined : Math.max(0, Math.min(...xs.map((x) => x.left)));
  };
  const down = min('down');
  const up = min('up');
  return { ...(down !== undefined ? { down } : {}), ...(up !== undefined ? { up } : {}) };
}
