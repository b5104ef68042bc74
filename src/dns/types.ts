/* The DNS filter's shapes as the API, the CLI and other modules see them. Types only. */
import type { LatencyCounts } from './latency.js';

/** Counters a worker reports every second; the daemon sums them over the workers. */
export interface DnsCounters {
  queries: number;
  /** Answered from the cache. */
  cached: number;
  /** Blocked by a list, a decision (answer check) or rebinding protection. */
  blocked: number;
  /** Would have been blocked by the answer check in monitor mode. */
  monitored: number;
  servfail: number;
  formerr: number;
  /** Over TCP (the rest came over UDP). */
  tcp: number;
  /** Replies cut to fit the client's UDP size (TC=1). */
  truncated: number;
  /** Sum and count of upstream round trips, µs. */
  upstreamUs: number;
  upstreamCount: number;
}

export function emptyCounters(): DnsCounters {
  return { queries: 0, cached: 0, blocked: 0, monitored: 0, servfail: 0, formerr: 0, tcp: 0, truncated: 0, upstreamUs: 0, upstreamCount: 0 };
}

export interface UpstreamHealth {
  readonly name: string;
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly errors: number;
}

export interface DnsWorkerStatus {
  readonly pid: number;
  readonly restarts: number;
  /** Epoch ms of its last counters report; null before the first. */
  readonly lastReport: number | null;
  readonly counters: DnsCounters;
  readonly cache: { readonly entries: number; readonly hits: number; readonly misses: number };
  readonly upstreams: readonly UpstreamHealth[];
}

/** GET /v1/dns/status */
export interface DnsStatus {
  readonly listen: readonly string[];
  readonly workers: readonly DnsWorkerStatus[];
  /** Summed over the workers since the start. */
  readonly totals: DnsCounters;
  /** Queries per second over the last few seconds, all workers. */
  readonly qps: number;
  readonly domainIndex: { readonly rules: number; readonly builtAt: number | null };
  readonly ipIndex: { readonly entries: number };
  readonly answerCheck: 'enforce' | 'monitor' | 'off';
  readonly optout: readonly string[];
}

/** One list as `gatehouse dns lists` shows it (the lists context's status). */
export type { DnsListStatus } from './lists/index.js';
import type { DnsListStatus } from './lists/index.js';

/** What `gatehouse dns query NAME --client IP` answers: what a worker would do, and why. */
export interface DnsExplain {
  readonly name: string;
  readonly qtype: string;
  readonly client: string;
  readonly group: string;
  readonly verdict: 'blocked' | 'allowed' | 'local' | 'forwarded' | 'resolved' | 'servfail' | 'special';
  /** A sentence: which list, group or decision made it so. */
  readonly why: string;
  readonly rcode: string;
  readonly answers: readonly string[];
  readonly cached: boolean;
  readonly upstream?: string;
}

/** What the dns module offers other modules (the firewall's block report asks for the domain). */
export interface DnsApi {
  /** Answer times of the clients' queries since the start, by result (latency.ts), as of the workers' last reports (≤ 1 s old). */
  latency(): LatencyCounts;
  /** The names LAN clients resolved to reach these remotes, in order; undefined where no worker remembers. */
  domainsFor(pairs: readonly { readonly client: string; readonly remote: string }[]): Promise<readonly (string | undefined)[]>;
  /** Clients (IP, CIDR, MAC, name) out of the ad lists, security lists still on: the portal's status page switch. */
  readonly optout: {
    list(): readonly string[];
    add(client: string): Promise<boolean>;
    delete(client: string): Promise<boolean>;
  };
}

export interface DnsListsResponse {
  readonly lists: readonly DnsListStatus[];
}
export interface DnsOptoutResponse {
  readonly optout: readonly string[];
  /** Whether the call changed anything (false: already opted out / was not). */
  readonly changed: boolean;
}
export interface DnsQueryQuery {
  readonly name: string;
  /** A, AAAA, … (default A). */
  readonly type?: string;
  /** The client to answer as (default 127.0.0.1: the default group). */
  readonly client?: string;
}

/** The runtime's routes, as the admin contract's part (the admin API's AdminEndpoints extends this). */
export interface DnsEndpoints {
  'GET /v1/dns/status': { query: undefined; body: undefined; response: DnsStatus };
  'GET /v1/dns/lists': { query: undefined; body: undefined; response: DnsListsResponse };
  'POST /v1/dns/refresh': { query: { readonly name?: string }; body: undefined; response: DnsListsResponse };
  'GET /v1/dns/query': { query: DnsQueryQuery; body: undefined; response: DnsExplain };
  'POST /v1/dns/flush': { query: undefined; body: undefined; response: { readonly flushed: true } };
  'GET /v1/dns/optout': { query: undefined; body: undefined; response: DnsOptoutResponse };
  'POST /v1/dns/optout': { query: undefined; body: { readonly client: string }; response: DnsOptoutResponse };
  'DELETE /v1/dns/optout/:client': { query: undefined; body: undefined; response: DnsOptoutResponse };
}
