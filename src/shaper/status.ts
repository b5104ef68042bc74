import type { ShaperStatus } from './types.js';

/* What `gatehouse shaper status` and `/v1/shaper/status` show: the ShaperApi status plus how the loop runs. */

export interface ShaperStatusReport extends ShaperStatus {
  /** Whether the qdisc probe ran (false: it could not, HTB and pfifo leaves were assumed). */
  readonly probed: boolean;
  /** Conntrack accounting (elephant detection needs it). */
  readonly conntrackAcct: { readonly enabled: boolean; readonly error?: string };
  readonly loop: {
    readonly ticks: number;
    readonly lastTickMs: number;
    readonly lastError?: string;
    readonly sharesCreated: number;
    readonly sharesRemoved: number;
  };
  readonly capHits: readonly { readonly client: string; readonly cap: string; readonly refused: number }[];
}

export interface ShaperUsageRow {
  readonly client: string;
  /** Epoch ms of the hour's start. */
  readonly hour: number;
  readonly down: number;
  readonly up: number;
}

export interface ShaperUsageResponse {
  readonly rows: readonly ShaperUsageRow[];
}

export interface ShaperUsageQuery {
  readonly client?: string;
  /** How many hours back (default 24, at most 2160 = 90 days). */
  readonly hours?: string;
}

export interface ShaperFairUseRequest {
  /** The client's addresses (a device's IPv4 and IPv6). */
  readonly ips: readonly string[];
  readonly on: boolean;
  readonly reason?: string;
}

export interface ShaperEndpoints {
  'GET /v1/shaper/status': { query: undefined; body: undefined; response: ShaperStatusReport };
  'GET /v1/shaper/usage': { query: ShaperUsageQuery; body: undefined; response: ShaperUsageResponse };
  /** Puts a client in (or out of) the fair-use class by hand (the portal's `throttle` does it by itself). */
  'POST /v1/shaper/fair-use': { query: undefined; body: ShaperFairUseRequest; response: { readonly ips: readonly string[]; readonly on: boolean } };
}
