/**
 * DNS over HTTPS (RFC 8484) on one reused HTTP/2 session: every query is a stream on it (POST with the message
 * as body, or GET ?dns=base64url for the `{?dns}` template), ID 0 on the wire as the RFC recommends (answers
 * stay cacheable by HTTP caches). The session is dropped on GOAWAY, error or idle timeout; the next query opens
 * a new one. A query refused because the session was going away is sent once more on a fresh session.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import type { Connector } from './stream.js';
import type { TransportStats, Upstream } from './types.js';
import { answersQuestion, questionEnd, readId, UpstreamError, writeId } from './wire.js';

const MAX_ANSWER = 65535;

export class DohUpstream implements Upstream {
  readonly counters: TransportStats = { connections: 0, mismatched: 0, tcpRetries: 0 };
  private session: http2.ClientHttp2Session | undefined;
  private closedForGood = false;

  constructor(
    readonly name: string,
    private readonly authority: string,
    private readonly path: string,
    private readonly method: 'GET' | 'POST',
    private readonly connect: Connector,
    private readonly idleMs = 30_000,
  ) {}

  private open(): http2.ClientHttp2Session {
    const s = http2.connect(this.authority, { createConnection: () => this.connect() as net.Socket & { alpnProtocol?: string } });
    this.counters.connections++;
    const drop = (): void => {
      if (this.session === s) this.session = undefined;
    };
    s.on('goaway', drop);
    s.on('close', drop);
    s.on('error', drop);
    s.setTimeout(this.idleMs, () => {
      drop();
      s.close();
    });
    this.session = s;
    return s;
  }

  exchange(msg: Uint8Array, timeoutMs: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const qEnd = questionEnd(msg);
      if (qEnd < 0) return reject(new UpstreamError(`${this.name}: not a query with one question`, 'protocol'));
      const body = Buffer.allocUnsafe(msg.length);
      body.set(msg);
      writeId(body, 0);
      const deadline = Date.now() + timeoutMs;
      this.attempt(body, readId(msg), qEnd, deadline, true, resolve, reject);
    });
  }

  private attempt(body: Buffer, origId: number, qEnd: number, deadline: number, mayRetry: boolean,
    resolve: (b: Buffer) => void, reject: (e: Error) => void): void {
    if (this.closedForGood) return reject(new UpstreamError(`${this.name}: closed`, 'closed'));
    let session = this.session;
    if (session === undefined || session.closed || session.destroyed) session = this.open();
    const left = Math.max(1, deadline - Date.now());
    let req: http2.ClientHttp2Stream;
    try {
      req = this.method === 'POST'
        ? session.request({ ':method': 'POST', ':path': this.path, 'content-type': 'application/dns-message', accept: 'application/dns-message', 'content-length': body.length })
        : session.request({ ':method': 'GET', ':path': `${this.path}?dns=${body.toString('base64url')}`, accept: 'application/dns-message' }, { endStream: true });
    } catch (e) {
      // The session went away between our check and the request (e.g. GOAWAY being processed).
      if (this.session === session) this.session = undefined;
      if (mayRetry) return this.attempt(body, origId, qEnd, deadline, false, resolve, reject);
      return reject(new UpstreamError(`${this.name}: ${(e as Error).message}`, 'network'));
    }
    let done = false;
    let status = 0;
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: UpstreamError | undefined, reply?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
        return reject(err);
      }
      resolve(reply!);
    };
    const timer = setTimeout(() => finish(new UpstreamError(`${this.name}: no answer within ${left} ms`, 'timeout')), left);
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_ANSWER) return finish(new UpstreamError(`${this.name}: answer larger than ${MAX_ANSWER} bytes`, 'protocol'));
      chunks.push(c);
    });
    req.on('end', () => {
      if (status !== 200) return finish(new UpstreamError(`${this.name}: HTTP status ${status}`, 'protocol'));
      const reply = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      if (!answersQuestion(body, qEnd, reply)) {
        this.counters.mismatched++;
        return finish(new UpstreamError(`${this.name}: the answer is not for the question asked`, 'protocol'));
      }
      writeId(reply, origId);
      finish(undefined, reply);
    });
    /** A stream that failed before any answer because its session went away is tried once more on a new one. */
    const retried = (): boolean => {
      const gone = session.closed || session.destroyed || this.session !== session;
      if (!(gone && mayRetry && status === 0 && Date.now() < deadline)) return false;
      done = true;
      clearTimeout(timer);
      this.attempt(body, origId, qEnd, deadline, false, resolve, reject);
      return true;
    };
    req.on('error', (e: Error) => {
      if (done || retried()) return;
      finish(new UpstreamError(`${this.name}: ${e.message}`, 'network'));
    });
    // A stream closed without 'end' (RST_STREAM, e.g. REFUSED_STREAM after GOAWAY) only fires 'close'.
    req.on('close', () => {
      if (done || retried()) return;
      finish(new UpstreamError(`${this.name}: stream closed (code ${req.rstCode ?? '?'})`, 'closed'));
    });
    if (this.method === 'POST') req.end(body);
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  close(): void {
    this.closedForGood = true;
    this.session?.destroy();
    this.session = undefined;
  }
}
