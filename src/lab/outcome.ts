/**
 * What a user would see when trying to reach something, and how kernel errors map to it. Pure.
 *
 * How firewall verdicts surface in a Node client:
 *  - `reject with tcp reset` to a SYN → ECONNREFUSED ("refused"), indistinguishable from a closed port;
 *  - `reject with icmp(x) admin-prohibited` → EHOSTUNREACH (IPv4) or EACCES (IPv6) ("unreachable");
 *  - no route / `reject with icmp net-unreachable` → ENETUNREACH ("unreachable");
 *  - a drop in the client's own OUTPUT chain → EPERM ("unreachable");
 *  - a drop anywhere else → nothing comes back ("timeout");
 *  - RST after the connection was established (conntrack flush, reset rule on established) → "reset".
 */

export type ConnectOutcome = 'connected' | 'refused' | 'reset' | 'timeout' | 'unreachable' | 'error';
export type HttpOutcome = 'response' | Exclude<ConnectOutcome, 'connected'>;
export type UdpOutcome = 'reply' | 'no-reply' | 'refused' | 'unreachable' | 'error';

export type FailureOutcome = Exclude<ConnectOutcome, 'connected'>;

const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EACCES', 'EPERM', 'EHOSTDOWN', 'ENETDOWN', 'ENONET']);

export function classifyErrno(code: string | undefined): FailureOutcome {
  if (code === undefined) return 'error';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (UNREACHABLE.has(code)) return 'unreachable';
  return 'error';
}

export interface ConnectRequest {
  readonly host: string;
  readonly port: number;
  /** Only needed when `host` is a name; literal addresses carry their family. */
  readonly family?: 4 | 6;
  /** Bind to this local address first (e.g. the attacker address in the inet namespace). */
  readonly sourceAddress?: string;
  readonly timeoutMs: number;
  /** After connecting, wait this long for the peer to speak first (an ssh banner). Default 300; 0 = don't wait. */
  readonly bannerWaitMs?: number;
  /** Sent once connected (before waiting for the banner). */
  readonly send?: string;
}

export interface ConnectResult {
  readonly outcome: ConnectOutcome;
  /** Time to the outcome (connect or failure), measured inside the namespace. */
  readonly ms: number;
  /** First data the server sent, trimmed (only when connected and it spoke within bannerWaitMs). */
  readonly banner?: string;
  /** errno code when the outcome came from one (ECONNREFUSED, EHOSTUNREACH, …). */
  readonly code?: string;
  readonly message?: string;
}

export interface HttpRequest {
  readonly url: string;
  readonly timeoutMs: number;
  readonly method?: 'GET' | 'HEAD' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly sourceAddress?: string;
  /** Body bytes kept in the result. Default 256 KiB. */
  readonly maxBodyBytes?: number;
}

export interface HttpResult {
  readonly outcome: HttpOutcome;
  readonly ms: number;
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly code?: string;
  readonly message?: string;
}

export interface UdpRequest {
  readonly host: string;
  readonly port: number;
  readonly payload?: string;
  readonly sourceAddress?: string;
  /** How long to wait for a reply (or an ICMP error). */
  readonly timeoutMs: number;
}

export interface UdpResult {
  readonly outcome: UdpOutcome;
  readonly ms: number;
  readonly reply?: string;
  readonly code?: string;
  readonly message?: string;
}

export type ProbeOp =
  | { readonly op: 'connect'; readonly req: ConnectRequest }
  | { readonly op: 'http'; readonly req: HttpRequest }
  | { readonly op: 'udp'; readonly req: UdpRequest };

export type ProbeResult = ConnectResult | HttpResult | UdpResult;
