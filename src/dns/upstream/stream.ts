/**
 * DNS over TCP and over TLS (RFC 7766, RFC 7858): one reused connection per upstream, queries pipelined with
 * the 2-byte length framing and answers matched by ID (+ question) in whatever order they come back. The
 * connection is closed after `idleMs` without traffic; when the server closes it while queries are in flight,
 * those are sent once more on a new connection (a server may close an idle connection just as we write).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { TransportStats, Upstream } from './types.js';
import { answersQuestion, questionEnd, randomId, readId, UpstreamError, writeId } from './wire.js';

interface Pending {
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  frame: Buffer; // 2-byte length + message with our ID
  qEnd: number; // relative to the message (frame offset 2)
  origId: number;
  deadline: number;
  resent: boolean;
}

class StreamConn {
  readonly pending = new Map<number, Pending>();
  closed = false;
  private buf: Buffer | undefined;

  constructor(
    private readonly owner: StreamUpstream,
    readonly sock: net.Socket,
    idleMs: number,
  ) {
    sock.setNoDelay(true);
    sock.setTimeout(idleMs);
    sock.on('timeout', () => {
      if (this.pending.size === 0) sock.destroy();
    });
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', (e: Error) => this.onClose(e));
    sock.on('close', () => this.onClose(undefined));
  }

  private onData(d: Buffer): void {
    let buf = this.buf === undefined ? d : Buffer.concat([this.buf, d]);
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < len + 2) break;
      this.onMessage(buf.subarray(2, len + 2));
      buf = buf.subarray(len + 2);
    }
    this.buf = buf.length > 0 ? buf : undefined;
  }

  private onMessage(m: Buffer): void {
    if (m.length < 12) return void this.owner.counters.mismatched++;
    const id = readId(m);
    const p = this.pending.get(id);
    if (p === undefined || !answersQuestion(p.frame.subarray(2), p.qEnd, m)) return void this.owner.counters.mismatched++;
    this.pending.delete(id);
    clearTimeout(p.timer);
    writeId(m, p.origId);
    p.resolve(m);
  }

  private onClose(e: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.dropConn(this);
    this.sock.destroy();
    const why = e ? e.message : 'connection closed by the server';
    const now = Date.now();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      if (!p.resent && e === undefined && p.deadline - now > 0) {
        p.resent = true;
        this.owner.resend(p);
      } else p.reject(new UpstreamError(`${this.owner.name}: ${why}`, e ? 'network' : 'closed'));
    }
    this.pending.clear();
  }

  send(p: Pending): void {
    let id = randomId();
    while (this.pending.has(id)) id = randomId();
    writeId(p.frame.subarray(2), id);
    const left = Math.max(1, p.deadline - Date.now());
    p.timer = setTimeout(() => {
      if (this.pending.get(id) === p) this.pending.delete(id);
      p.reject(new UpstreamError(`${this.owner.name}: no answer within ${left} ms`, 'timeout'));
    }, left);
    this.pending.set(id, p);
    this.sock.write(p.frame);
  }
}

export type Connector = () => net.Socket;

export class StreamUpstream implements Upstream {
  readonly counters: TransportStats = { connections: 0, mismatched: 0, tcpRetries: 0 };
  private conn: StreamConn | undefined;
  private closedForGood = false;

  constructor(
    readonly name: string,
    private readonly connect: Connector,
    private readonly idleMs = 10_000,
  ) {}

  exchange(msg: Uint8Array, timeoutMs: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const qEnd = questionEnd(msg);
      if (qEnd < 0) return reject(new UpstreamError(`${this.name}: not a query with one question`, 'protocol'));
      if (this.closedForGood) return reject(new UpstreamError(`${this.name}: closed`, 'closed'));
      const frame = Buffer.allocUnsafe(msg.length + 2);
      frame.writeUInt16BE(msg.length, 0);
      frame.set(msg, 2);
      const p: Pending = {
        resolve, reject, frame, qEnd, origId: readId(msg), deadline: Date.now() + timeoutMs, resent: false,
        timer: undefined as unknown as NodeJS.Timeout,
      };
      this.resend(p);
    });
  }

  /** @internal sends on the current connection, opening one when there is none. */
  resend(p: Pending): void {
    let c = this.conn;
    if (c === undefined || c.closed) {
      if (this.closedForGood) return p.reject(new UpstreamError(`${this.name}: closed`, 'closed'));
      c = new StreamConn(this, this.connect(), this.idleMs);
      this.conn = c;
      this.counters.connections++;
    }
    if (c.pending.size >= 60000) return p.reject(new UpstreamError(`${this.name}: too many queries in flight`, 'network'));
    c.send(p);
  }

  /** @internal */
  dropConn(c: StreamConn): void {
    if (this.conn === c) this.conn = undefined;
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  close(): void {
    this.closedForGood = true;
    this.conn?.sock.destroy(new Error('upstream closed'));
    this.conn = undefined;
  }
}

const caCache = new Map<string, string[]>();
/** The system store plus the PEM file's certificates (node's `ca` option replaces the defaults, hence both). */
export function trustedCas(caFile: string | undefined, read: (f: string) => string): string[] | undefined {
  if (caFile === undefined) return undefined;
  let cas = caCache.get(caFile);
  if (cas === undefined) {
    cas = [...tls.rootCertificates, read(caFile)];
    caCache.set(caFile, cas);
  }
  return cas;
}

export function tcpConnector(host: string, port: number): Connector {
  return () => net.connect({ host, port });
}

export function tlsConnector(host: string, port: number, servername: string | undefined, ca: string[] | undefined, alpn: string[] | undefined): Connector {
  let session: Buffer | undefined;
  return () => {
    const opts: tls.ConnectionOptions = { host, port, minVersion: 'TLSv1.2' };
    // No ALPN for DoT: a server with other ALPN protocols configured could refuse the handshake over it.
    if (alpn !== undefined) opts.ALPNProtocols = alpn;
    if (servername !== undefined) opts.servername = servername;
    if (ca !== undefined) opts.ca = ca;
    if (session !== undefined) opts.session = session;
    // With an IP literal and a pinned name, the certificate must be checked against the name, not the IP.
    if (servername !== undefined && net.isIP(host) !== 0) opts.checkServerIdentity = (_h, cert) => tls.checkServerIdentity(servername, cert);
    const s = tls.connect(opts);
    s.on('session', (sess: Buffer) => {
      session = sess;
    });
    return s;
  };
}
