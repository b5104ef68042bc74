import type { QueuedMessage } from './queue.js';

/** GET /v1/notify/status: what `gatehouse notify status` shows. */
export interface NotifyStatus {
  readonly channels: readonly { readonly name: string; readonly type: 'webhook' | 'email'; readonly lastError: string | null; readonly lastSentAt: number | null }[];
  readonly rules: number;
  /** Groups of notices waiting for their window, cooldown or quiet hours to end. */
  readonly grouping: number;
  readonly queue: { readonly waiting: number; readonly failing: number; readonly givenUp: number; readonly sentToday: number };
  readonly digest: { readonly at: string; readonly nextAt: number | null } | null;
  /** The latest queue entries, newest first. */
  readonly recent: readonly QueuedMessage[];
}

/** POST /v1/notify/test */
export interface NotifyTestResult {
  readonly channel: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly error?: string;
}

/** The notify module's admin endpoints, joined into the API's table (api/contract.ts). */
export interface NotifyEndpoints {
  'GET /v1/notify/status': { query: undefined; body: undefined; response: NotifyStatus };
  'POST /v1/notify/test': { query: undefined; body: { readonly channel: string }; response: NotifyTestResult };
}
