/**
 * The captive portal's face: the rest of Gatehouse imports src/portal through this file only. Sessions,
 * identities and limits (this folder), the kernel side (kernel/) and the pages residents see (web/).
 */
export type { AddressUsage, AuthMethod, Grant, LimitAction, LimitKind, LoginRefusal, LoginRequest, LoginResult, PortalDevice, PortalKernel, PortalSessions, SessionState, SessionView } from './types.js';
export type { PortalEndpoints, PortalUser, PortalUserImport, PortalVoucher, SessionsEndBody, VoucherCreateBody } from './api-types.js';
export type { PortalLimitEvent, PortalLoginEvent, PortalLoginFailedEvent, PortalLogoutEvent, PortalThrottledEvent } from './events.js';
export { portalSection, type PortalConfig } from './config.js';
export { portalModule, portalRef, type PortalView } from './module.js';
export { portalMigrations } from './schema.js';
