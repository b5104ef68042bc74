import type { IpDelta, IpIndexTransfer } from './ipindex/index.js';
import type { LatencyCounts } from './latency.js';
import type { DnsCounters, DnsExplain, UpstreamHealth } from './types.js';

/* The messages between the daemon's supervisor and its resolver workers (advanced serialization). */

/** What a worker needs to resolve, derived once from the config. */
export interface WorkerSettings {
  readonly upstreams: readonly string[];
  readonly strategy: 'parallel_best' | 'strict';
  readonly upstreamTimeoutMs: number;
  /** Conditional forwarding: longest suffix wins. */
  readonly forward: readonly { readonly domain: string; readonly upstreams: readonly string[] }[];
  readonly blockAnswer: 'nxdomain' | 'null_ip';
  readonly blockTtlSec: number;
  readonly answerCheck: 'enforce' | 'monitor' | 'off';
  readonly rebinding: boolean;
  readonly rebindingAllow: readonly string[];
  readonly cache: { readonly size: number; readonly maxBytes: number; readonly minTtlSec: number; readonly maxTtlSec: number; readonly negativeMaxTtlSec: number; readonly prefetch: boolean };
  readonly queryLog: { readonly file: string; readonly mode: 'full' | 'anonymous' | 'off' };
  /** List names by list id (bit of the mask). */
  readonly listNames: readonly string[];
  /** LAN networks and the gateway's own addresses (CIDR text): a public name answering these is rebinding. */
  readonly privateNets: readonly string[];
  /** LAN devices answer as `<name>.<localDomain>`. */
  readonly localDomain: string;
  readonly tcpIdleMs: number;
  readonly tcpMaxConnections: number;
}

/** Client → policy: the mask of lists that apply (blocklists of its group, every allowlist). */
export interface GroupTable {
  readonly defaultGroup: string;
  readonly defaultMask: number;
  /** Client address → [group name, mask]. */
  readonly clients: readonly (readonly [string, string, number])[];
  /** CIDR ranges → [group name, mask], longest prefix first; an exact address wins over a range. */
  readonly ranges: readonly (readonly [string, string, number])[];
}

export interface LocalHost {
  /** Fully qualified, lower case, no trailing dot (e.g. "laptop.lan"). */
  readonly name: string;
  readonly ips: readonly string[];
}

/** Who is behind a LAN address, for the query log: [address, MAC, name or null]. */
export type ClientTag = readonly [string, string, string | null];

export type ToWorker =
  | { readonly t: 'init'; readonly settings: WorkerSettings }
  /** Comes with a dgram.Socket handle. */
  | { readonly t: 'udp'; readonly address: string }
  /** Comes with an accepted net.Socket (paused). */
  | { readonly t: 'tcp' }
  /** The domain index is in a file (lists/index-file.ts): a worker reads it into one buffer; generations only go up. */
  | { readonly t: 'domains'; readonly file: string; readonly generation: number; readonly rules: number }
  | { readonly t: 'ips'; readonly index: IpIndexTransfer }
  | { readonly t: 'ipDelta'; readonly delta: IpDelta }
  | { readonly t: 'groups'; readonly table: GroupTable }
  | { readonly t: 'local'; readonly hosts: readonly LocalHost[]; readonly devices: readonly ClientTag[] }
  | { readonly t: 'explain'; readonly id: number; readonly name: string; readonly qtype: string; readonly client: string }
  | { readonly t: 'resolved'; readonly id: number; readonly pairs: readonly { readonly client: string; readonly remote: string }[] }
  | { readonly t: 'flush' }
  | { readonly t: 'flushLog'; readonly id: number };

export type FromWorker =
  | { readonly t: 'ready' }
  | {
      readonly t: 'counters';
      readonly counters: DnsCounters;
      readonly cache: { readonly entries: number; readonly hits: number; readonly misses: number };
      readonly upstreams: readonly UpstreamHealth[];
      /** Answer times since this worker started (latency.ts): counts, not one message per query. */
      readonly latency: LatencyCounts;
    }
  | { readonly t: 'explained'; readonly id: number; readonly result: DnsExplain }
  | { readonly t: 'resolvedName'; readonly id: number; readonly names: readonly (string | null)[] }
  | { readonly t: 'logFlushed'; readonly id: number }
  | { readonly t: 'log'; readonly level: 'warn' | 'error' | 'info'; readonly msg: string; readonly data?: Readonly<Record<string, unknown>> };
