import type { AuthMethod, LimitAction, LimitKind, LoginRefusal } from './types.js';

/** A session began: a device (MAC and addresses) logged in under an identity. */
export interface PortalLoginEvent {
  readonly sessionId: string;
  readonly user: string;
  readonly method: AuthMethod;
  readonly mac: string;
  readonly ips: readonly string[];
  readonly at: number;
}

/** A session ended: logout, an admin, or a limit (`reason` names it). */
export interface PortalLogoutEvent {
  readonly sessionId: string;
  readonly user: string;
  readonly mac: string;
  readonly ips: readonly string[];
  readonly reason: LimitKind | 'logout' | 'admin' | 'replaced';
  readonly bytesDown: number;
  readonly bytesUp: number;
  readonly at: number;
}

export interface PortalLimitEvent {
  readonly sessionId: string;
  readonly user: string;
  readonly mac: string;
  readonly limit: LimitKind;
  readonly action: LimitAction;
  readonly at: number;
}

export interface PortalThrottledEvent {
  readonly sessionId: string;
  readonly user: string;
  readonly ips: readonly string[];
  readonly limit: LimitKind;
  readonly at: number;
}

/** A refused login; `rateLimited` when this attempt locked the client or the user out. */
export interface PortalLoginFailedEvent {
  readonly client: string;
  readonly mac?: string;
  readonly user?: string;
  readonly reason: LoginRefusal;
  readonly retryAfterSec?: number;
  readonly at: number;
}

declare module '../events/index.js' {
  interface GatehouseEvents {
    'portal.login': PortalLoginEvent;
    'portal.logout': PortalLogoutEvent;
    'portal.limit_reached': PortalLimitEvent;
    'portal.throttled': PortalThrottledEvent;
    'portal.login_failed': PortalLoginFailedEvent;
  }
}
