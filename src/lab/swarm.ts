/**
 * A small BitTorrent-like swarm for the lab: peers in the inet namespace that speak the real BEP 3 handshake
 * (68 bytes) over TCP and answer BEP 5 DHT pings and BEP 29 uTP SYNs over UDP, each on its own address and
 * port; plain HTTP endpoints for "normal" downloads; and a client that opens flows to every peer at once.
 * Enough for the gateway to see what a torrent client looks like on the wire, with nothing leaving the lab.
 *
 *   node --import tsx src/lab/swarm.ts serve  '<ServeSpec JSON>'   # prints "ready" once listening
 *   node --import tsx src/lab/swarm.ts client '<ClientSpec JSON>'  # prints one ClientReport JSON line
 *   node --import tsx src/lab/swarm.ts hold   '<HoldSpec JSON>'    # many flows to one endpoint, held open
 *
 * `encrypted` mode sends high-entropy bytes instead of the handshake and DHT bencode (like MSE/PE
 * obfuscation): no signature matches, only the peers' addresses and the traffic's shape give it away.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer, get as httpGet } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface ServeSpec {
  /** Each listens on TCP and UDP. */
  readonly peers: readonly Endpoint[];
  /** HTTP: `GET /bytes/N` answers N bytes. */
  readonly web?: readonly Endpoint[];
  /** What a peer sends after the handshake (a piece's worth of data). */
  readonly seedBytes: number;
  /** TCP: accepts and keeps connections open, silent (a download manager's idle connections). */
  readonly hold?: readonly Endpoint[];
}

/** Opens `count` flows to one endpoint at once and keeps the ones that work open for `holdMs`. */
export interface HoldSpec {
  readonly target: Endpoint;
  readonly count: number;
  readonly proto: 'tcp' | 'udp';
  readonly holdMs: number;
  readonly timeoutMs?: number;
}

export interface HoldReport {
  /** TCP: connected; UDP: answered. */
  readonly ok: number;
  /** TCP: refused or reset; UDP: no answer. */
  readonly refused: number;
  readonly other: number;
  /** Longest time a refused flow took to fail (ms): a refusal is fast, a silent drop is a timeout. */
  readonly slowestRefusalMs: number;
}

export interface ClientSpec {
  readonly peers: readonly Endpoint[];
  readonly mode: 'plain' | 'encrypted';
  readonly tcp: boolean;
  readonly udp: boolean;
  /** Plain mode: also a uTP SYN to each peer (from its own socket). */
  readonly utp?: boolean;
  /** Also a BEP 14 Local Service Discovery announce to the LAN multicast group (IPv4). */
  readonly lsd?: boolean;
  /** Plain HTTP downloads to run alongside the peers (`http://host:port/bytes/N`). */
  readonly downloads?: readonly string[];
  readonly timeoutMs?: number;
}

export type TcpOutcome = 'ok' | 'refused' | 'reset' | 'timeout' | 'error';

export interface PeerReport {
  readonly peer: Endpoint;
  readonly tcp?: { readonly outcome: TcpOutcome; readonly handshake: boolean; readonly bytes: number };
  readonly udp?: { readonly answered: boolean };
  readonly utp?: { readonly answered: boolean };
}

export interface ClientReport {
  readonly peers: readonly PeerReport[];
  readonly downloads: readonly { readonly url: string; readonly bytes: number; readonly ok: boolean }[];
}

export const HANDSHAKE_LENGTH = 68;
const PSTR = Buffer.from('\x13BitTorrent protocol', 'latin1');

/** BEP 3 handshake: pstrlen, pstr, 8 reserved bytes (extension protocol + DHT bits set), info_hash, peer_id. */
export function btHandshake(infoHash: Uint8Array, peerId: Uint8Array): Buffer {
  if (infoHash.length !== 20 || peerId.length !== 20) throw new RangeError('info_hash and peer_id are 20 bytes each');
  const reserved = Buffer.from([0, 0, 0, 0, 0, 0x10, 0, 0x01]);
  return Buffer.concat([PSTR, reserved, infoHash, peerId]);
}

export function isBtHandshake(b: Uint8Array): boolean {
  return b.length >= HANDSHAKE_LENGTH && Buffer.from(b.subarray(0, PSTR.length)).equals(PSTR);
}

const bstr = (b: Uint8Array): Buffer => Buffer.concat([Buffer.from(`${b.length}:`), b]);

/** BEP 5 `ping` query: d1:ad2:id20:<id>e1:q4:ping1:t2:<tid>1:y1:qe (keys sorted, as bencode requires). */
export function dhtPing(nodeId: Uint8Array, tid: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from('d1:ad2:id'), bstr(nodeId), Buffer.from('e1:q4:ping1:t'), bstr(tid), Buffer.from('1:y1:qe')]);
}

/** BEP 5 `ping` response: d1:rd2:id20:<id>e1:t2:<tid>1:y1:re. */
export function dhtPong(nodeId: Uint8Array, tid: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from('d1:rd2:id'), bstr(nodeId), Buffer.from('e1:t'), bstr(tid), Buffer.from('1:y1:re')]);
}

/** BEP 29 header (20 bytes): type/version, extension 0, connection id, timestamps, window, seq, ack. */
export function utpHeader(type: 'syn' | 'state', connId: number, seq: number, ack = 0): Buffer {
  const b = Buffer.alloc(20);
  b[0] = ((type === 'syn' ? 4 : 2) << 4) | 1;
  b[1] = 0;
  b.writeUInt16BE(connId & 0xffff, 2);
  b.writeUInt32BE(Date.now() % 0x100000000 >>> 0, 4);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(1 << 20, 12);
  b.writeUInt16BE(seq & 0xffff, 16);
  b.writeUInt16BE(ack & 0xffff, 18);
  return b;
}

/** BEP 15 connect request: protocol id 0x41727101980, action 0, transaction id. */
export function udpTrackerConnect(transactionId: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(0x41727101980n, 0);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  return b;
}

/** High-entropy bytes that do not start like any signature (what MSE-obfuscated peers send). */
function noise(n: number): Buffer {
  const b = randomBytes(n);
  b[0] = 0x80 | (b[0]! & 0x3f);
  return b;
}

// ---------------------------------------------------------------------------------------------- serve

export async function serveSwarm(spec: ServeSpec): Promise<() => Promise<void>> {
  const closers: (() => Promise<void>)[] = [];
  const infoHash = randomBytes(20);
  for (const p of spec.peers) {
    const peerId = randomBytes(20);
    const tcp = createServer((sock) => {
      sock.on('error', () => undefined);
      let got = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        got = Buffer.concat([got, d]);
        if (got.length < HANDSHAKE_LENGTH) return;
        sock.off('data', onData);
        // Answer in kind: a handshake to a handshake, noise to noise; then a piece's worth of data.
        sock.write(isBtHandshake(got) ? btHandshake(infoHash, peerId) : noise(HANDSHAKE_LENGTH));
        sock.end(randomBytes(spec.seedBytes));
      };
      sock.on('data', onData);
    });
    const udp = createSocket(p.host.includes(':') ? 'udp6' : 'udp4');
    udp.on('message', (msg, from) => {
      let reply: Buffer;
      if (msg.subarray(0, 5).toString('latin1') === 'd1:ad') reply = dhtPong(peerId, msg.subarray(msg.length - 9, msg.length - 7));
      else if (msg.length === 20 && msg[0] === 0x41) reply = utpHeader('state', msg.readUInt16BE(2), 1, msg.readUInt16BE(16));
      else reply = noise(msg.length);
      udp.send(reply, from.port, from.address);
    });
    await new Promise<void>((res, rej) => {
      tcp.once('error', rej);
      tcp.listen(p.port, p.host, () => res());
    });
    await new Promise<void>((res, rej) => {
      udp.once('error', rej);
      udp.bind(p.port, p.host, () => res());
    });
    closers.push(() => new Promise<void>((res) => tcp.close(() => res())), () => new Promise<void>((res) => udp.close(() => res())));
  }
  for (const h of spec.hold ?? []) {
    const held = new Set<Socket>();
    const srv = createServer((sock) => {
      sock.on('error', () => undefined);
      held.add(sock);
      sock.on('close', () => held.delete(sock));
    });
    await new Promise<void>((res, rej) => {
      srv.once('error', rej);
      srv.listen(h.port, h.host, () => res());
    });
    closers.push(() => new Promise<void>((res) => {
      for (const c of held) c.destroy();
      srv.close(() => res());
    }));
  }
  for (const w of spec.web ?? []) {
    const http = createHttpServer((req, res) => {
      const m = /^\/bytes\/([0-9]{1,10})$/.exec(req.url ?? '');
      if (!m) {
        res.writeHead(404).end();
        return;
      }
      const n = Number(m[1]);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) });
      const chunk = randomBytes(64 * 1024);
      let left = n;
      const pump = (): void => {
        while (left > 0) {
          const part = chunk.subarray(0, Math.min(chunk.length, left));
          left -= part.length;
          if (!res.write(part)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((res, rej) => {
      http.once('error', rej);
      http.listen(w.port, w.host, () => res());
    });
    closers.push(() => new Promise<void>((res) => http.close(() => res())));
  }
  return async () => {
    await Promise.all(closers.map((c) => c()));
  };
}

// ---------------------------------------------------------------------------------------------- client

function tcpPeer(p: Endpoint, mode: ClientSpec['mode'], timeoutMs: number): Promise<NonNullable<PeerReport['tcp']>> {
  return new Promise((resolve) => {
    let bytes = 0;
    let handshake = false;
    let head = Buffer.alloc(0);
    let done = false;
    const finish = (outcome: TcpOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ outcome, handshake, bytes });
    };
    const sock: Socket = connect({ host: p.host, port: p.port });
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    sock.on('connect', () => sock.write(mode === 'plain' ? btHandshake(randomBytes(20), randomBytes(20)) : noise(HANDSHAKE_LENGTH)));
    sock.on('data', (d: Buffer) => {
      bytes += d.length;
      if (head.length < HANDSHAKE_LENGTH) {
        head = Buffer.concat([head, d]);
        if (head.length >= HANDSHAKE_LENGTH) handshake = isBtHandshake(head);
      }
    });
    sock.on('end', () => finish('ok'));
    sock.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'ECONNRESET' ? 'reset' : 'error'));
  });
}

function udpExchange(p: Endpoint, payload: Buffer, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket(p.host.includes(':') ? 'udp6' : 'udp4');
    let done = false;
    const finish = (answered: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(again);
      s.close();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    // A lost datagram is resent, like a DHT node would.
    const send = (): void => s.send(payload, p.port, p.host, () => undefined);
    const again = setInterval(send, 1000);
    s.on('message', () => finish(true));
    s.on('error', () => finish(false));
    send();
  });
}

function download(url: string, timeoutMs: number): Promise<{ url: string; bytes: number; ok: boolean }> {
  return new Promise((resolve) => {
    let bytes = 0;
    const req = httpGet(url, { timeout: timeoutMs }, (res) => {
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ url, bytes, ok: res.statusCode === 200 && String(bytes) === res.headers['content-length'] }));
      res.on('error', () => resolve({ url, bytes, ok: false }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ url, bytes, ok: false }));
  });
}

/** BEP 14 announce, sent once (nobody answers a multicast announce). */
export function lsdAnnounce(infoHash: Uint8Array, port: number): Buffer {
  return Buffer.from(`BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: ${port}\r\nInfohash: ${Buffer.from(infoHash).toString('hex')}\r\n\r\n\r\n`);
}

function sendLsd(): Promise<void> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.on('error', () => resolve());
    s.bind(() => s.send(lsdAnnounce(randomBytes(20), 6881), 6771, '239.192.152.143', () => {
      s.close();
      resolve();
    }));
  });
}

export async function runSwarmClient(spec: ClientSpec): Promise<ClientReport> {
  const timeoutMs = spec.timeoutMs ?? 20_000;
  if (spec.lsd) await sendLsd();
  const nodeId = randomBytes(20);
  const downloads = Promise.all((spec.downloads ?? []).map((u) => download(u, timeoutMs)));
  const peers = await Promise.all(
    spec.peers.map(async (peer, i): Promise<PeerReport> => {
      const tid = Buffer.from([i >> 8, i & 0xff]);
      const [tcp, udp, utp] = await Promise.all([
        spec.tcp ? tcpPeer(peer, spec.mode, timeoutMs) : undefined,
        spec.udp ? udpExchange(peer, spec.mode === 'plain' ? dhtPing(nodeId, tid) : noise(56), timeoutMs) : undefined,
        spec.utp && spec.mode === 'plain' ? udpExchange(peer, utpHeader('syn', i + 1, 1), timeoutMs) : undefined,
      ]);
      return { peer, ...(tcp ? { tcp } : {}), ...(udp !== undefined ? { udp: { answered: udp } } : {}), ...(utp !== undefined ? { utp: { answered: utp } } : {}) };
    }),
  );
  return { peers, downloads: await downloads };
}

export async function runHold(spec: HoldSpec): Promise<HoldReport> {
  const timeoutMs = spec.timeoutMs ?? 5000;
  const open: (() => void)[] = [];
  const one = (): Promise<{ outcome: 'ok' | 'refused' | 'other'; ms: number }> =>
    new Promise((resolve) => {
      const t0 = Date.now();
      const done = (outcome: 'ok' | 'refused' | 'other'): void => resolve({ outcome, ms: Date.now() - t0 });
      if (spec.proto === 'tcp') {
        const sock = connect({ host: spec.target.host, port: spec.target.port });
        const timer = setTimeout(() => {
          sock.destroy();
          done('other');
        }, timeoutMs);
        sock.on('connect', () => {
          clearTimeout(timer);
          open.push(() => sock.destroy());
          done('ok');
        });
        sock.on('error', (e: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          done(e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' ? 'refused' : 'other');
        });
        return;
      }
      const s = createSocket(spec.target.host.includes(':') ? 'udp6' : 'udp4');
      const timer = setTimeout(() => {
        s.close();
        done('refused');
      }, timeoutMs);
      s.on('message', () => {
        clearTimeout(timer);
        open.push(() => s.close());
        done('ok');
      });
      s.on('error', () => undefined);
      s.send(noise(32), spec.target.port, spec.target.host, () => undefined);
    });
  const results = await Promise.all(Array.from({ length: spec.count }, one));
  await new Promise((r) => setTimeout(r, spec.holdMs));
  for (const close of open) close();
  const refusedMs = results.filter((r) => r.outcome === 'refused').map((r) => r.ms);
  return {
    ok: results.filter((r) => r.outcome === 'ok').length,
    refused: refusedMs.length,
    other: results.filter((r) => r.outcome === 'other').length,
    slowestRefusalMs: refusedMs.length === 0 ? 0 : Math.max(...refusedMs),
  };
}

// ---------------------------------------------------------------------------------------------- CLI

async function main(argv: readonly string[]): Promise<void> {
  const [cmd, json] = argv;
  if ((cmd !== 'serve' && cmd !== 'client' && cmd !== 'hold') || json === undefined) {
    process.stderr.write('usage: swarm.ts serve|client|hold <json spec>\n');
    process.exit(2);
  }
  const spec = JSON.parse(json) as unknown;
  if (cmd === 'serve') {
    const close = await serveSwarm(spec as ServeSpec);
    process.stdout.write('ready\n');
    const stop = (): void => void close().finally(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return;
  }
  const report = cmd === 'hold' ? await runHold(spec as HoldSpec) : await runSwarmClient(spec as ClientSpec);
  process.stdout.write(JSON.stringify(report) + '\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`swarm: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
