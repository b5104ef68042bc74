import dgram from 'node:dgram';
import net from 'node:net';

/*
 * INTERIM stand-in for H3's UpstreamPool (same surface): plain DNS over UDP (TCP when the answer is
 * truncated) to `ip`, `ip:port` or `[v6]:port`, tried in order of health. One UDP socket per exchange (a
 * fresh random source port: no ID/port guessing across queries).
 */

export class AllUpstreamsFailed extends Error {
  override name = 'AllUpstreamsFailed';
}

interface Target {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  ok: boolean;
  latencyMs: number;
  errors: number;
}

function parseSpec(spec: string): Target {
  const s = spec.replace(/^udp:\/\//, '');
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  const host = m?.[1] ?? s;
  return { name: spec, host, port: Number(m?.[2] ?? 53), ok: true, latencyMs: 0, errors: 0 };
}

function udpExchange(t: Target, msg: Uint8Array, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(t.host.includes(':') ? 'udp6' : 'udp4');
    const id = (msg[0]! << 8) | msg[1]!;
    const timer = setTimeout(() => done(new Error(`${t.name}: no answer in ${timeoutMs} ms`)), timeoutMs);
    const done = (e: Error | undefined, b?: Buffer) => {
      clearTimeout(timer);
      s.close();
      if (e) reject(e);
      else resolve(b!);
    };
    s.on('error', (e) => done(e));
    s.on('message', (b) => {
      if (b.length >= 12 && b.readUInt16BE(0) === id) done(undefined, b);
    });
    // Connected: a closed port answers ICMP unreachable, which fails the exchange now instead of at the timeout.
    s.connect(t.port, t.host, () => s.send(msg));
  });
}

export function tcpExchange(host: string, port: number, msg: Uint8Array, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`${host}:${port}: no TCP answer in ${timeoutMs} ms`)), timeoutMs);
    const done = (e: Error | undefined, b?: Buffer) => {
      clearTimeout(timer);
      c.destroy();
      if (e) reject(e);
      else resolve(b!);
    };
    c.on('error', (e) => done(e));
    c.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      c.write(Buffer.concat([len, msg]));
    });
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(undefined, buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
  });
}

export class UpstreamPool {
  private readonly targets: Target[];
  constructor(
    specs: readonly string[],
    private readonly o: { strategy: 'parallel_best' | 'strict'; timeoutMs: number },
  ) {
    this.targets = specs.map(parseSpec);
  }

  async resolve(msg: Uint8Array, _forName: string): Promise<{ reply: Buffer; upstream: string; ms: number }> {
    const order = this.o.strategy === 'strict' ? this.targets : [...this.targets].sort((a, b) => Number(b.ok) - Number(a.ok) || a.latencyMs - b.latencyMs);
    const errors: string[] = [];
    for (const t of order) {
      const start = performance.now();
      try {
        let reply = await udpExchange(t, msg, this.o.timeoutMs);
        if (reply.length > 2 && reply[2]! & 0x02) reply = await tcpExchange(t.host, t.port, msg, this.o.timeoutMs);
        const ms = performance.now() - start;
        t.ok = true;
        t.latencyMs = t.latencyMs === 0 ? ms : t.latencyMs * 0.8 + ms * 0.2;
        return { reply, upstream: t.name, ms };
      } catch (e) {
        t.ok = false;
        t.errors++;
        errors.push((e as Error).message);
      }
    }
    throw new AllUpstreamsFailed(`every upstream failed: ${errors.join('; ')}`);
  }

  health() {
    return this.targets.map((t) => ({ name: t.name, ok: t.ok, latencyMs: Math.round(t.latencyMs * 10) / 10, errors: t.errors }));
  }

  close(): void {}
}
