import type { ImportResult, PortalUser } from './users.js';
import type { VoucherInfo } from './vouchers.js';
import type { SessionView } from './types.js';

/*
 * The admin API's portal endpoints (`/v1/portal/*`), by the contract's shape (src/api/contract.ts merges
 * them): what `gatehouse users|vouchers|sessions` send and get. Times are epoch ms, sizes bytes.
 */

export type { ImportResult as PortalUserImport, PortalUser } from './users.js';
export type { VoucherInfo as PortalVoucher } from './vouchers.js';

export interface VoucherCreateBody {
  readonly count: number;
  /** Duration text, e.g. "8h": the voucher's time, counted from its first use. */
  readonly time?: string;
  /** Byte size text, e.g. "5GB": download per session. */
  readonly traffic?: string;
  readonly upload?: string;
  /** Devices (logins on a new device) per voucher; default 1. */
  readonly uses?: number;
}

export interface SessionsEndBody {
  readonly id?: string;
  readonly user?: string;
  /** An IP or a MAC. */
  readonly client?: string;
}

export interface PortalEndpoints {
  'GET /v1/portal/users': { query: undefined; body: undefined; response: { readonly users: readonly PortalUser[] } };
  'POST /v1/portal/users': { query: undefined; body: { readonly name: string; readonly password: string }; response: { readonly user: string } };
  'PUT /v1/portal/users/:name/password': { query: undefined; body: { readonly password: string }; response: { readonly user: string } };
  'DELETE /v1/portal/users/:name': { query: undefined; body: undefined; response: { readonly user: string; readonly sessionsEnded: number } };
  'POST /v1/portal/users/import': { query: undefined; body: string; response: ImportResult };
  'GET /v1/portal/vouchers': { query: undefined; body: undefined; response: { readonly vouchers: readonly VoucherInfo[] } };
  'POST /v1/portal/vouchers': { query: undefined; body: VoucherCreateBody; response: { readonly codes: readonly string[] } };
  'DELETE /v1/portal/vouchers/:code': { query: undefined; body: undefined; response: { readonly deleted: number; readonly sessionsEnded: number } };
  'GET /v1/portal/sessions': { query: undefined; body: undefined; response: { readonly sessions: readonly SessionView[] } };
  'POST /v1/portal/sessions/end': { query: undefined; body: SessionsEndBody; response: { readonly ended: readonly SessionView[] } };
}
