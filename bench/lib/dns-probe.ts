import { createSocket } from 'node:dgram';

/** A tiny DNS client for readiness probes (no dependency: the probe must not cost the server anything odd). */

export function aQuery(name: string, id: number): Buffer {
  const labels = name.split('.').filter(Boolean);
  const q = Buffer.alloc(12 + labels.reduce((n, l) => n + l.length + 1, 0) + 1 + 4);
  q.writeUInt16BE(id, 0);
  q.writeUInt16BE(0x0100, 2); // RD
  q.writeUInt16BE(1, 4); // QDCOUNT
  let o = 12;
  for (const l of labels) {
    q[o++] = l.length;
    o += q.write(l, o, 'ascii');
  }
  q[o++] = 0;
  q.writeUInt16BE(1, o); // A
  q.writeUInt16BE(1, o + 2); // IN
  return q;
}

export interface ProbeReply {
  readonly rcode: number;
  readonly answers: number;
  /** The last four bytes: the A record's address when the answer is one A record at the end. */
  readonly lastA: string;
}

/** One query over UDP; undefined when nothing came back within `timeoutMs`. */
export function probe(host: string, port: number, name: string, timeoutMs: number): Promise<ProbeReply | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const id = Math.floor(Math.random() * 0xffff);
    const done = (r: ProbeReply | undefined): void => {
      clearTimeout(timer);
      s.close();
      resolve(r);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    s.on('error', () => done(undefined));
    s.on('message', (m) => {
      if (m.length < 12 || m.readUInt16BE(0) !== id) return;
      done({ rcode: m[3]! & 0x0f, answers: m.readUInt16BE(6), lastA: [...m.subarray(m.length - 4)].join('.') });
    });
    s.send(aQuery(name, id), port, host);
  });
}

export type BlockCheck = (r: ProbeReply) => boolean;
export const isNxdomain: BlockCheck = (r) => r.rcode === 3;
export const isNullIp: BlockCheck = (r) => r.rcode === 0 && r.answers > 0 && r.lastA === '0.0.0.0';

/**
 * Probes every `everyMs` until `name` is answered as blocked; resolves with the time since `t0`
 * (performance.now() at spawn). Throws after `timeoutMs`, or when `alive()` turns false.
 */
export async function waitBlocked(o: {
  host: string; port: number; name: string; blocked: BlockCheck; t0: number; everyMs: number; timeoutMs: number; alive: () => boolean;
}): Promise<number> {
  for (;;) {
    const r = await probe(o.host, o.port, o.name, o.everyMs);
    if (r && o.blocked(r)) return performance.now() - o.t0;
    if (!o.alive()) throw new Error('server exited before answering');
    if (performance.now() - o.t0 > o.timeoutMs) throw new Error(`no blocked answer for ${o.name} within ${o.timeoutMs / 1000} s`);
    if (r) await new Promise((res) => setTimeout(res, o.everyMs));
  }
}
