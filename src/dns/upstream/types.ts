/** What every transport offers the pool: one exchange of a DNS message, answered with the caller's ID. */
export interface Upstream {
  readonly name: string;
  /**
   * Sends `msg` (a query with one question) and resolves with the answer, carrying `msg`'s ID and question.
   * Rejects with an UpstreamError on timeout, network or protocol trouble. `msg` is not modified.
   */
  exchange(msg: Uint8Array, timeoutMs: number): Promise<Buffer>;
  close(): void;
  stats(): TransportStats;
}

export interface TransportStats {
  /** Connections (TCP/TLS) or HTTP/2 sessions opened so far; UDP: sockets opened. */
  connections: number;
  /** Answers dropped because their ID or question did not match a query in flight (spoofing, late answers). */
  mismatched: number;
  /** UDP answers with TC=1 that were asked again over TCP. */
  tcpRetries: number;
}

export interface TransportOptions {
  /** Extra CA certificate(s) (PEM file) trusted besides the system store, for tls:// and https://. */
  caFile?: string;
  /** Close an idle TCP/TLS connection or HTTP/2 session after this long (ms). */
  idleMs?: number;
  /** UDP sockets per upstream (each has its own random source port). */
  udpSockets?: number;
  /** Queries per UDP socket before it is replaced by a new one (new random source port). Default 5000. */
  udpRotateAfter?: number;
}
