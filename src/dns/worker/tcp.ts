import type { Socket } from 'node:net';

/*
 * DNS over TCP (RFC 7766): 2-byte length framing, several queries in flight per connection (answered as
 * they complete, in any order), an idle timeout, and a cap on connections and on queries in flight so one
 * client cannot hold a worker.
 */

const MAX_IN_FLIGHT = 32;

export interface TcpOptions {
  readonly idleMs: number;
  readonly maxConnections: number;
  readonly handle: (msg: Buffer, client: string) => Promise<Buffer | undefined>;
}

export class TcpConnections {
  private readonly open = new Set<Socket>();

  constructor(private readonly o: TcpOptions) {}

  get size(): number {
    return this.open.size;
  }

  adopt(sock: Socket): void {
    if (this.open.size >= this.o.maxConnections) {
      sock.destroy();
      return;
    }
    this.open.add(sock);
    const client = (sock.remoteAddress ?? '').replace(/^::ffff:/, '');
    let buf: Buffer = Buffer.alloc(0);
    let inFlight = 0;
    let ended = false;
    sock.setTimeout(this.o.idleMs, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.open.delete(sock));
    sock.on('end', () => {
      ended = true;
      if (inFlight === 0) sock.end();
    });
    sock.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        inFlight++;
        if (inFlight >= MAX_IN_FLIGHT) sock.pause();
        void this.o.handle(msg, client).then((reply) => {
          inFlight--;
          if (sock.destroyed) return;
          if (reply) {
            const head = Buffer.alloc(2);
            head.writeUInt16BE(reply.length);
            sock.write(Buffer.concat([head, reply]));
          }
          if (sock.isPaused() && inFlight < MAX_IN_FLIGHT) sock.resume();
          if (ended && inFlight === 0) sock.end();
        });
      }
    });
    sock.resume();
  }

  closeAll(): void {
    for (const s of this.open) s.destroy();
  }
}
