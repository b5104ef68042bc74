/**
 * The DNS query log's vocabulary: what a resolver worker records per answered query, and what the daemon's
 * reader answers (`gatehouse dns log`, `gatehouse dns top`, `/v1/dns/log`, `/v1/dns/top`). Types only.
 */

/** full: everything; anonymous: no client IP, MAC or name is stored (the rows keep the rest); off: nothing. */
export const QUERY_LOG_MODES = ['full', 'anonymous', 'off'] as const;
export type QueryLogMode = (typeof QUERY_LOG_MODES)[number];

/** Why an answer was replaced by a block answer. */
export type BlockedBy = 'list' | 'decision' | 'rebinding' | 'canary' | 'special';

/** One answered query as the worker hands it to its writer (built once per query; the writer keeps the reference). */
export interface QueryRecord {
  /** Epoch milliseconds when the query arrived. */
  readonly t: number;
  /** The client's IP address. */
  readonly client: string;
  readonly mac?: string;
  readonly clientName?: string;
  /** Lower-case, no trailing dot. */
  readonly name: string;
  readonly qtype: number;
  readonly rcode: number;
  /** A short summary of the answer, e.g. "93.184.216.34 2606:2800::1" or "CNAME cdn.example.net". */
  readonly answer?: string;
  /** `what`: the list name, the decision's target, the private address, … */
  readonly blocked?: { readonly by: BlockedBy; readonly what: string };
  /** The answer_check monitor's note (logged, not blocked). */
  readonly monitored?: string;
  /** Which upstream answered; absent for cache hits, blocks and local answers. */
  readonly upstream?: string;
  readonly latencyUs: number;
  readonly cached: boolean;
}

/** A stored query as the API and `gatehouse dns log --json` show it. Client fields are null in anonymous mode. */
export interface QueryRow {
  readonly id: number;
  /** Epoch milliseconds. */
  readonly time: number;
  readonly client: string | null;
  readonly mac: string | null;
  readonly clientName: string | null;
  readonly name: string;
  readonly qtype: number;
  /** The type's mnemonic ("A", "AAAA", "TYPE65534" for one without a name). */
  readonly type: string;
  readonly rcode: number;
  /** "NOERROR", "NXDOMAIN", … */
  readonly rcodeName: string;
  readonly answer: string | null;
  readonly blocked: { readonly by: string; readonly what: string } | null;
  readonly monitored: string | null;
  readonly upstream: string | null;
  readonly latencyUs: number;
  readonly cached: boolean;
}

/** What the reader filters on; times are epoch ms. */
export interface QueryFilter {
  /** A client's IP, MAC or name. */
  readonly client?: string;
  /** true: blocked queries only; false: answered ones only. */
  readonly blocked?: boolean;
  /** This name and every name under it. */
  readonly domain?: string;
  readonly since?: number;
  readonly until?: number;
  readonly limit?: number;
}

export interface TopFilter {
  readonly since?: number;
  readonly until?: number;
  /** Rows per list. */
  readonly limit?: number;
}

export interface NameCount {
  readonly name: string;
  readonly count: number;
}

export interface ClientCount {
  readonly client: string;
  readonly mac: string | null;
  readonly clientName: string | null;
  readonly count: number;
  readonly blocked: number;
}

export interface QueryTotals {
  readonly queries: number;
  readonly blocked: number;
  readonly cached: number;
  /** Percentages of queries, one decimal. */
  readonly blockedPct: number;
  readonly cachedPct: number;
}

export interface QueryTop {
  /** The window, epoch ms (null: from the oldest row). */
  readonly since: number | null;
  readonly until: number;
  readonly totals: QueryTotals;
  readonly names: readonly NameCount[];
  readonly blocked: readonly NameCount[];
  readonly clients: readonly ClientCount[];
}

/** What a writer reports (the worker adds it to its per-second counters). */
export interface QueryLogWriterStats {
  readonly mode: QueryLogMode;
  /** Records handed to push since start. */
  readonly pushed: number;
  readonly written: number;
  /** Records dropped because the buffer was full (oldest first). */
  readonly dropped: number;
  /** Records SQLite refused (built wrong: no name); the rest of their batch is stored. */
  readonly skipped: number;
  /** Records waiting in the buffer. */
  readonly buffered: number;
  /** Flushes put off because another worker held the write lock. */
  readonly busy: number;
  /** Flushes that failed for another reason (the rows stay buffered within the bound). */
  readonly errors: number;
  readonly lastError: string | null;
}

// ------------------------------------------------------------------------- admin API (see api/contract.ts)

/** GET /v1/dns/log (query). */
export interface DnsLogQuery {
  readonly client?: string;
  readonly blocked?: boolean | 'true' | 'false' | '1' | '0';
  readonly domain?: string;
  /** A duration before now ("1h", "30m") or a number of seconds. */
  readonly since?: string | number;
  readonly until?: string | number;
  readonly limit?: number;
}
export interface DnsLogResponse {
  readonly queries: readonly QueryRow[];
}

/** GET /v1/dns/top (query). */
export interface DnsTopQuery {
  readonly since?: string | number;
  readonly limit?: number;
}
export type DnsTopResponse = QueryTop;

/** The query log's endpoints, in the admin API's table form (api/contract.ts's AdminEndpoints extends it). */
export interface QueryLogEndpoints {
  'GET /v1/dns/log': { query: DnsLogQuery; body: undefined; response: DnsLogResponse };
  'GET /v1/dns/top': { query: DnsTopQuery; body: undefined; response: DnsTopResponse };
}
