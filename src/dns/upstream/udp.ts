/**
 * Plain DNS over UDP. A few connected sockets per upstream, each bound by the kernel to a random source port;
 * every query goes out with a fresh random ID, and an answer is accepted only when its ID belongs to a query in
 * flight on that socket AND it repeats that query's question (case-insensitively) — anything else is dropped
 * (RFC 5452). Connected sockets also make the kernel drop datagrams from any other address, and turn an ICMP
 * port-unreachable into an immediate error instead of a timeout. A truncated answer is asked again over TCP.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { TransportStats, Upstream } from './types.js';
import { answersQuestion, isTruncated, questionEnd, randomId, readId, UpstreamError, writeId } from './wire.js';

interface Pending {
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  sent: Buffer;
  qEnd: number;
  origId: number;
  deadline: number;
}

class UdpChannel {
  readonly pending = new Map<number, Pending>();
  /** Queries sent; the channel is retired (new socket, new random port) after rotateAfter. */
  used = 0;
  readonly sock: dgram.Socket;
  /** Datagrams written before connect() completed (node refuses a send without address until then). */
  private queue: Buffer[] | undefined = [];

  constructor(
    private readonly owner: UdpUpstream,
    host: string,
    port: number,
  ) {
    this.sock = dgram.createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
    this.sock.on('message', (m: Buffer) => this.onMessage(m));
    this.sock.on('error', (e: Error) => this.failAll(e));
    this.sock.connect(port, host, () => {
      const q = this.queue ?? [];
      this.queue = undefined;
      for (const b of q) this.write(b);
    });
  }

  private write(b: Buffer): void {
    const id = readId(b);
    this.sock.send(b, (err) => {
      const p = this.pending.get(id);
      if (err && p !== undefined && p.sent === b) {
        this.pending.delete(id);
        clearTimeout(p.timer);
        p.reject(new UpstreamError(`${this.owner.name}: ${err.message}`, 'network'));
      }
    });
  }

  private onMessage(m: Buffer): void {
    if (m.length < 12) return void this.owner.counters.mismatched++;
    const id = readId(m);
    const p = this.pending.get(id);
    if (p === undefined || !answersQuestion(p.sent, p.qEnd, m)) return void this.owner.counters.mismatched++;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (isTruncated(m) && this.owner.tcp !== undefined) {
      this.owner.counters.tcpRetries++;
      writeId(p.sent, p.origId);
      const left = p.deadline - Date.now();
      if (left <= 0) return p.reject(new UpstreamError(`${this.owner.name}: truncated answer and no time left for TCP`, 'timeout'));
      this.owner.tcp.exchange(p.sent, left).then(p.resolve, p.reject);
      return;
    }
    writeId(m, p.origId);
    p.resolve(m);
  }

  /** An error on a connected socket (ECONNREFUSED from ICMP) concerns the peer: fail everything in flight. */
  failAll(e: Error): void {
    const err = new UpstreamError(`${this.owner.name}: ${e.message}`, 'network');
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  send(msg: Uint8Array, timeoutMs: number, resolve: Pending['resolve'], reject: Pending['reject']): void {
    const qEnd = questionEnd(msg);
    if (qEnd < 0) return reject(new UpstreamError(`${this.owner.name}: not a query with one question`, 'protocol'));
    if (this.pending.size >= 60000) return reject(new UpstreamError(`${this.owner.name}: too many queries in flight`, 'network'));
    let id = randomId();
    while (this.pending.has(id)) id = randomId();
    const sent = Buffer.allocUnsafe(msg.length);
    sent.set(msg);
    const origId = readId(msg);
    writeId(sent, id);
    const p: Pending = {
      resolve, reject, sent, qEnd, origId,
      deadline: Date.now() + timeoutMs,
      timer: setTimeout(() => {
        if (this.pending.get(id) === p) this.pending.delete(id);
        reject(new UpstreamError(`${this.owner.name}: no answer within ${timeoutMs} ms`, 'timeout'));
      }, timeoutMs),
    };
    this.pending.set(id, p);
    if (this.queue !== undefined) this.queue.push(sent);
    else this.write(sent);
  }

  /** Stops taking queries; the socket stays open until the ones in flight had their chance to be answered. */
  retire(graceMs: number, done: () => void): void {
    const t = setTimeout(() => {
      this.close();
      done();
    }, graceMs);
    t.unref();
  }

  close(): void {
    this.failAll(new Error('closed'));
    try {
      this.sock.close();
    } catch {
      /* already closed */
    }
  }
}

const RETIRE_GRACE_MS = 5000;

export class UdpUpstream implements Upstream {
  readonly counters: TransportStats = { connections: 0, mismatched: 0, tcpRetries: 0 };
  private readonly channels: UdpChannel[] = [];
  private readonly retired = new Set<UdpChannel>();
  private closed = false;
  private next = 0;

  constructor(
    readonly name: string,
    private readonly host: string,
    private readonly port: number,
    /** Where truncated answers are asked again (a TCP upstream to the same server); undefined = return TC. */
    readonly tcp: Upstream | undefined,
    private readonly sockets = 4,
    /** Queries per socket before it is replaced by one on a new random port. */
    private readonly rotateAfter = 5000,
  ) {}

  exchange(msg: Uint8Array, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new UpstreamError(`${this.name}: closed`, 'closed'));
    let ch: UdpChannel;
    if (this.channels.length < this.sockets) {
      ch = this.open();
      this.channels.push(ch);
    } else {
      const i = this.next;
      this.next = (i + 1) % this.channels.length;
      ch = this.channels[i]!;
      if (ch.used >= this.rotateAfter) {
        // A fresh random source port now and then: an off-path forger cannot learn one and keep using it.
        const old = ch;
        this.retired.add(old);
        old.retire(RETIRE_GRACE_MS, () => this.retired.delete(old));
        ch = this.open();
        this.channels[i] = ch;
      }
    }
    ch.used++;
    return new Promise<Buffer>((resolve, reject) => ch.send(msg, timeoutMs, resolve, reject));
  }

  private open(): UdpChannel {
    this.counters.connections++;
    return new UdpChannel(this, this.host, this.port);
  }

  stats(): TransportStats {
    const tcp = this.tcp?.stats();
    return { ...this.counters, connections: this.counters.connections + (tcp?.connections ?? 0), mismatched: this.counters.mismatched + (tcp?.mismatched ?? 0) };
  }

  close(): void {
    this.closed = true;
    for (const ch of this.channels) ch.close();
    for (const ch of this.retired) ch.close();
    this.channels.length = 0;
    this.retired.clear();
    this.tcp?.close();
  }
}
