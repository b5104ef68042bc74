/**
 * The admin API's contract: every request and response shape of the routes on the admin socket (and its
 * optional TCP listener), as they travel in JSON. The routes, the CLI and the coming dashboard share these
 * types, and the routes' answers are checked against them by the compiler. The entities that travel as the
 * domain defines them (a decision, a block event) are re-exported from there, so clients import this file
 * only. Types only: importing it loads nothing.
 */
import type { AllowEntry, Decision, Direction } from '../decisions/index.js';
import type { BlockEvent, BlockDirection, LookedUpAs } from '../store/index.js';
import type { FeedStatus } from '../feeds/index.js';
import type { FirewallStatus } from '../firewall/index.js';
import type { LapiBouncer as Bouncer, LapiMachine as Machine } from '../store/index.js';
import type { DnsEndpoints, QueryLogEndpoints } from '../dns/index.js';
import type { PortalEndpoints } from '../portal/index.js';
import type { ShaperEndpoints } from '../shaper/index.js';
import type { NotifyEndpoints } from '../notify/index.js';

// ---------------------------------------------------------------------------------------------- common

/** Every error answer: a 4xx for a request the caller can fix, 500 for ours. */
export interface ApiErrorBody {
  readonly error: string;
}

/** Which traffic a decision applies to: inbound = remote is the source, outbound = remote is the destination. */
export type { Direction } from '../decisions/index.js';
/** A duration as "4h", "30m", "90s" or a number of seconds. */
export type DurationInput = string | number;

// ------------------------------------------------------------------------------------------- decisions

/** A decision and an allow entry travel as the decisions context defines them (epoch-ms times, null = never). */
export type { Decision, AllowEntry } from '../decisions/index.js';

/** GET /v1/decisions (query). */
export interface DecisionListQuery {
  readonly origin?: string;
  /** Decisions whose value equals, covers or is covered by this IP/CIDR. */
  readonly value?: string;
  readonly scope?: 'ip' | 'range';
  readonly direction?: Direction;
  readonly limit?: number;
}
export interface DecisionListResponse {
  readonly decisions: readonly Decision[];
}

/** POST /v1/decisions (JSON body). */
export interface AddDecisionRequest {
  readonly value: string;
  readonly direction?: Direction;
  readonly duration?: DurationInput;
  readonly reason?: string;
  readonly scenario?: string;
  readonly origin?: string;
  /** Ban it even if it covers everything, the LAN, this gateway or private space. */
  readonly force?: boolean;
}
export interface AddDecisionResponse {
  readonly decision: Decision;
  /** Allow entries that cover the value: the allowlist wins, so the decision is recorded but not enforced. */
  readonly allowedBy: readonly AllowEntry[];
}

/** POST /v1/decisions/import (query; the body is the list as text/plain). */
export interface ImportQuery {
  readonly direction?: Direction;
  readonly duration?: DurationInput;
  readonly reason?: string;
  readonly origin?: string;
  readonly scenario?: string;
  readonly force?: boolean;
}
export interface SkippedLine {
  readonly line: number;
  readonly text: string;
  readonly why: string;
}
export interface ImportResponse {
  readonly added: number;
  readonly updated: number;
  readonly skipped: number;
  /** Lines refused by the guard (too broad, the LAN, this gateway, private space); counted in skipped too. */
  readonly refused: number;
  /** The first few skipped lines. */
  readonly skippedSamples: readonly SkippedLine[];
}

/** DELETE /v1/decisions (query) and DELETE /v1/decisions/:id. */
export interface DeleteDecisionsQuery {
  readonly value?: string;
  readonly origin?: string;
  readonly scenario?: string;
}
export interface DeleteDecisionsResponse {
  readonly deleted: readonly Decision[];
}

// ----------------------------------------------------------------------------------------------- allow

export interface AllowListResponse {
  readonly allow: readonly AllowEntry[];
}
/** POST /v1/allow (JSON body). */
export interface AddAllowRequest {
  readonly value: string;
  readonly reason?: string;
  readonly duration?: DurationInput;
  /** Allow it even if it is broader than /8 (IPv4) or /16 (IPv6). */
  readonly force?: boolean;
}
export interface AddAllowResponse {
  readonly allow: AllowEntry;
}
/** DELETE /v1/allow/:idOrValue */
export interface DeleteAllowResponse {
  readonly deleted: AllowEntry;
}

// ------------------------------------------------------------------------------------- blocks, explain

/**
 * A row of the block report: who (clientIp, and the device's clientMac and clientName, for IPv4 and IPv6
 * alike), towards whom, how, how often, and the decisions that made it.
 */
export type { BlockEvent, BlockDirection, BlockMode, DecisionRef, LookedUpAs } from '../store/index.js';

/** GET /v1/blocks (query). */
export interface BlocksQuery {
  readonly direction?: BlockDirection;
  /** Only events seen in this window before now. */
  readonly since?: DurationInput;
  /** A LAN client's IP, MAC or name. */
  readonly client?: string;
  readonly remote?: string;
  readonly limit?: number;
  /** The next page: the `next` of the page before. */
  readonly before?: string;
  /**
   * false: answer from the store as it is, without reading the kernel's counters first (up to one
   * firewall.hit_poll_interval behind; the dashboard's pages, whose live stream shows newer blocks). Default true.
   */
  readonly fresh?: boolean | 'true' | 'false' | '1' | '0';
}
export interface BlocksResponse {
  readonly blocks: readonly BlockEvent[];
  /** Pass as `before` for the rows after these; absent when this page was not full. */
  readonly next?: string;
}
/** GET /v1/blocks/summary (query). */
export interface BlockSummaryQuery {
  /** The window; default 24h. */
  readonly since?: DurationInput;
  /** How many clients and remotes to rank; default 10, at most 100. */
  readonly top?: number | string;
  /**
   * As in BlocksQuery; and true also waits for the most-hit remotes to be counted anew, where false takes the last
   * count (at most ~30 s old: counting a day of a million block rows takes seconds, off the daemon's thread).
   */
  readonly fresh?: boolean | 'true' | 'false' | '1' | '0';
}
export type { BlockSummary } from '../store/index.js';
/** GET /v1/blocks/clients (query): outbound attempts per client, from the hourly counts. */
export interface BlockClientsQuery {
  /** The window; default 24h (whole hours). */
  readonly since?: DurationInput;
  /** As in BlocksQuery. */
  readonly fresh?: boolean | 'true' | 'false' | '1' | '0';
}
export interface BlockClientsResponse {
  readonly clients: readonly import('../store/index.js').ClientBlockCount[];
}

/** GET /v1/explain/:value */
export interface ExplainResponse {
  readonly value: string;
  readonly verdict: 'allowed' | 'listed' | 'not listed';
  readonly decisions: readonly Decision[];
  readonly allow: readonly AllowEntry[];
  /** LAN clients that hit it. */
  readonly blocks: readonly BlockEvent[];
  /** What it hit as a LAN client. */
  readonly asClient: readonly BlockEvent[];
  /** Names LAN clients looked up that resolved to it, from the block events (the DNS filter fills them in). */
  readonly domains: readonly LookedUpAs[];
}

// ----------------------------------------------------------------------------------------------- status

/** Where a module is in its life; the composition root reports one per module the config enables. */
export type ModuleState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface ModuleStatus {
  /** The module's name as in the module list (e.g. "firewall", "feeds", "lapi", "mirror", "clients"). */
  readonly name: string;
  readonly state: ModuleState;
  /** A short line for the admin: an address it listens on, the last error, … */
  readonly detail?: string;
  /** What the module reports about itself (JSON), for `gatehouse status --json` and the dashboard. */
  readonly status?: Readonly<Record<string, unknown>>;
}

/** The firewall's table, modes and nft results, as the firewall module reports them. */
export type { FirewallStatus } from '../firewall/index.js';

/** What the daemon reports about itself; the admin routes add the decision and allow counts. */
export interface DaemonStatus {
  readonly version: string;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  /** The modules running, in start order. */
  readonly modules: readonly ModuleStatus[];
  /** Null when no firewall runs (e.g. a LAPI-only config). */
  readonly firewall: FirewallStatus | null;
  /** Listening address of the CrowdSec-compatible LAPI, null when off. */
  readonly lapi: string | null;
  /** Listening address of the blocklist mirror, null when off. */
  readonly mirror: string | null;
  /** Configured feeds. */
  readonly feeds: number;
  /** How late the daemon's event loop ran since the window began (see api/loop-delay.ts). */
  readonly eventLoop: EventLoopStatus;
}

/**
 * How late the daemon's event loop ran: every API, the LAPI, the kernel writer and (next) DNS and the
 * portal share this one thread, so a long synchronous step anywhere is a stall for all of them.
 */
export interface EventLoopStatus {
  /** Lateness of the loop's timer, ms, over the window: median, 99th percentile, worst. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Samples in the window (one per resolution while the loop is free). */
  readonly samples: number;
  /** Start of the window, epoch milliseconds. */
  readonly since: number;
}

/** GET /v1/status?reset_event_loop=true: answer the event-loop window so far and start a new one. */
export interface StatusQuery {
  readonly reset_event_loop?: 'true' | 'false' | '1' | '0';
}

/** GET /v1/status */
export interface GatehouseStatus extends DaemonStatus {
  readonly ok: true;
  /** Active decisions. */
  readonly decisions: number;
  readonly allow: number;
}

// ------------------------------------------------------------------------------------------------ feeds

/** What `gatehouse feeds list` shows for one feed, as the feeds context reports it. */
export type { FeedProgress, FeedStatus } from '../feeds/index.js';

/** GET /v1/feeds and POST /v1/feeds/refresh[?name=NAME]. */
export interface FeedsResponse {
  readonly feeds: readonly FeedStatus[];
}

// ------------------------------------------------------------------------------- CrowdSec credentials

/** Credentials as `gatehouse bouncers|machines list` shows them; secrets never leave the store. */
export type { LapiBouncer as Bouncer, LapiMachine as Machine } from '../store/index.js';

export interface BouncersResponse {
  readonly bouncers: readonly Bouncer[];
}
export interface MachinesResponse {
  readonly machines: readonly Machine[];
}
/** POST /v1/bouncers */
export interface AddBouncerRequest {
  readonly name: string;
  /** Use this key instead of a random one. */
  readonly key?: string;
}
export interface AddBouncerResponse {
  readonly name: string;
  /** Shown once; stored hashed. */
  readonly key: string;
}
/** POST /v1/machines */
export interface AddMachineRequest {
  readonly name: string;
  readonly password?: string;
}
export interface AddMachineResponse {
  readonly name: string;
  readonly password: string;
}
/** DELETE /v1/bouncers/:name and /v1/machines/:name */
export interface DeletedNameResponse {
  readonly deleted: string;
}

// ------------------------------------------------------------------------------------------------- dns

/** The DNS query log (`gatehouse dns log`, `gatehouse dns top`), as the dns context defines it. */
export type {
  ClientCount as DnsClientCount,
  DnsLogQuery,
  DnsLogResponse,
  DnsTopQuery,
  DnsTopResponse,
  NameCount as DnsNameCount,
  QueryRow as DnsQueryRow,
  QueryTotals as DnsQueryTotals,
} from '../dns/index.js';
/** The resolver's status, lists, `dns query` explanation and opt-outs, as the dns context defines them. */
export type { DnsStatus, DnsListStatus, DnsListsResponse, DnsExplain, DnsOptoutResponse, DnsQueryQuery, DnsWorkerStatus, DnsCounters } from '../dns/index.js';
/** The captive portal's accounts, vouchers and sessions (`gatehouse users|vouchers|sessions`). */
export type { PortalUser, PortalUserImport, PortalVoucher, SessionView as PortalSessionView, VoucherCreateBody } from '../portal/index.js';

/** The fair-share shaper's status and hourly usage, as the shaper context defines them. */
export type { ShaperStatusReport, ShaperUsageResponse, ShaperUsageRow, ShapedClient } from '../shaper/index.js';
/** Notifications: `gatehouse notify status|test`, as the notify context defines them. */
export type { NotifyStatus, NotifyTestResult, QueuedMessage as NotifyQueuedMessage } from '../notify/index.js';

// ---------------------------------------------------------------------------------------- the endpoints

/**
 * Every endpoint, by "METHOD path" (":x" marks a path parameter): what it takes and what it answers. A
 * client can type its calls from this table; the routes are checked against the same types.
 */
export interface AdminEndpoints extends QueryLogEndpoints, DnsEndpoints, ShaperEndpoints, PortalEndpoints, NotifyEndpoints {
  'GET /v1/status': { query: StatusQuery; body: undefined; response: GatehouseStatus };
  'GET /v1/decisions': { query: DecisionListQuery; body: undefined; response: DecisionListResponse };
  'POST /v1/decisions': { query: undefined; body: AddDecisionRequest; response: AddDecisionResponse };
  'POST /v1/decisions/import': { query: ImportQuery; body: string; response: ImportResponse };
  'DELETE /v1/decisions/:id': { query: undefined; body: undefined; response: DeleteDecisionsResponse };
  'DELETE /v1/decisions': { query: DeleteDecisionsQuery; body: undefined; response: DeleteDecisionsResponse };
  'GET /v1/allow': { query: undefined; body: undefined; response: AllowListResponse };
  'POST /v1/allow': { query: undefined; body: AddAllowRequest; response: AddAllowResponse };
  'DELETE /v1/allow/:key': { query: undefined; body: undefined; response: DeleteAllowResponse };
  'GET /v1/blocks': { query: BlocksQuery; body: undefined; response: BlocksResponse };
  'GET /v1/blocks/summary': { query: BlockSummaryQuery; body: undefined; response: import('../store/index.js').BlockSummary };
  'GET /v1/blocks/clients': { query: BlockClientsQuery; body: undefined; response: BlockClientsResponse };
  'GET /v1/explain/:value': { query: undefined; body: undefined; response: ExplainResponse };
  'GET /v1/feeds': { query: undefined; body: undefined; response: FeedsResponse };
  'POST /v1/feeds/refresh': { query: { readonly name?: string }; body: undefined; response: FeedsResponse };
  'GET /v1/bouncers': { query: undefined; body: undefined; response: BouncersResponse };
  'POST /v1/bouncers': { query: undefined; body: AddBouncerRequest; response: AddBouncerResponse };
  'DELETE /v1/bouncers/:name': { query: undefined; body: undefined; response: DeletedNameResponse };
  'GET /v1/machines': { query: undefined; body: undefined; response: MachinesResponse };
  'POST /v1/machines': { query: undefined; body: AddMachineRequest; response: AddMachineResponse };
  'DELETE /v1/machines/:name': { query: undefined; body: undefined; response: DeletedNameResponse };
}

export type Endpoint = keyof AdminEndpoints;
export type ResponseOf<E extends Endpoint> = AdminEndpoints[E]['response'];

/** The names of an endpoint's path parameters: "DELETE /v1/allow/:key" → "key". */
type ParamNames<P extends string> = P extends `${string}:${infer N}/${infer Rest}` ? N | ParamNames<`/${Rest}`> : P extends `${string}:${infer N}` ? N : never;

/** What a client sends to an endpoint: its path parameters, query and body, each as the table says. */
export interface RequestOf<E extends Endpoint> {
  readonly params?: Readonly<Record<ParamNames<E>, string>>;
  readonly query?: AdminEndpoints[E]['query'];
  readonly body?: AdminEndpoints[E]['body'];
}
