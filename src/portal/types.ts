/*
 * The captive portal's vocabulary, shared by its three parts: kernel (enforcement and accounting in the
 * `inet gatehouse` table), sessions (accounts, vouchers, limits, store, CLI, API) and web (the pages residents
 * see, the OS probes, RFC 8908). A session is a grant to one device (MAC + its addresses) under one
 * identity (an account, a voucher or a click-through); limits and quotas belong to the identity, so a
 * randomised MAC does not reset them.
 */

export type AuthMethod = 'accounts' | 'vouchers' | 'click_through';
/** What happens when a limit is reached: the session ends, or the client goes to the shaper's fair-use class. */
export type LimitAction = 'relogin' | 'throttle';
export type LimitKind = 'session_time' | 'idle' | 'session_download' | 'session_upload' | 'daily' | 'weekly' | 'max_devices';

/** The device a grant is for: what the kernel allow-sets are keyed by. */
export interface PortalDevice {
  readonly mac: string;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
}

/** What the kernel enforces for one session. */
export interface Grant {
  readonly sessionId: string;
  readonly device: PortalDevice;
  /** Epoch ms: the kernel drops the allow elements by themselves then, even with the daemon down. */
  readonly untilMs: number;
  /** Bytes left for this session per direction (kernel quotas: the flow stops at the limit even at line rate). */
  readonly downloadLeft?: number;
  readonly uploadLeft?: number;
}

/** Bytes counted by the kernel for one address since it was granted. */
export interface AddressUsage {
  readonly ip: string;
  readonly down: number;
  readonly up: number;
}

/** The portal's kernel side (kernel/): the session manager calls it; it never decides policy. */
export interface PortalKernel {
  /** Makes the kernel's grants exactly these (start, restart after kill -9): no gap for the ones already there. */
  reassert(grants: readonly Grant[]): Promise<void>;
  grant(g: Grant): Promise<void>;
  /** Removes the grant, its quotas and the device's established flows (conntrack), so a running download stops. */
  revoke(g: Grant): Promise<void>;
  /** Cumulative bytes per granted address (small counter sets, read by name). */
  usage(): Promise<readonly AddressUsage[]>;
  /** Which session quotas the kernel found spent (the download or upload stopped at the limit). */
  spent(): Promise<readonly { readonly sessionId: string; readonly direction: 'down' | 'up' }[]>;
}

export type SessionState = 'active' | 'throttled' | 'ended';

/** A session as the CLI, the API, the status page and RFC 8908 show it. */
export interface SessionView {
  readonly id: string;
  /** Account name, `voucher:<code prefix>` or `guest`. */
  readonly user: string;
  readonly method: AuthMethod;
  readonly device: PortalDevice;
  readonly startedAt: number;
  /** Epoch ms when the session time limit ends it (and the kernel drops it). */
  readonly endsAt: number;
  readonly lastActivity: number;
  readonly bytesDown: number;
  readonly bytesUp: number;
  /** Undefined when that direction has no limit. */
  readonly downloadLeft?: number;
  readonly uploadLeft?: number;
  readonly state: SessionState;
  readonly endReason?: LimitKind | 'logout' | 'admin';
}

export type LoginRequest =
  | { readonly method: 'accounts'; readonly username: string; readonly password: string }
  | { readonly method: 'vouchers'; readonly code: string }
  | { readonly method: 'click_through' };

export type LoginRefusal = 'bad_credentials' | 'rate_limited' | 'limit_reached' | 'too_many_devices' | 'unknown_client' | 'method_off';

export type LoginResult =
  | { readonly ok: true; readonly session: SessionView }
  | { readonly ok: false; readonly reason: LoginRefusal; readonly retryAfterSec?: number; readonly limit?: LimitKind };

/** What the session manager offers the web part (and the API). */
export interface PortalSessions {
  /** The client's address as the portal listener saw it; the device is found from the neighbour table. */
  login(req: LoginRequest, clientIp: string): Promise<LoginResult>;
  logout(clientIp: string): Promise<void>;
  /** The live session of the device behind this address, if any. */
  sessionFor(clientIp: string): Promise<SessionView | undefined>;
  /** All live sessions of one identity (the status page's "your devices"). */
  sessionsOf(user: string): Promise<readonly SessionView[]>;
}
