/**
 * A resolver worker process (forked by the supervisor, see ../supervisor.ts). It reads the UDP sockets the
 * daemon bound and passed over, answers the TCP connections the daemon hands it, and keeps its own cache,
 * upstream pool and query-log writer. Ends when the daemon's channel closes (even after kill -9 of the daemon).
 */
import type { Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import type { FromWorker, ToWorker } from '../ipc.js';
import { readIndexFile } from '../lists/index-file.js';
import type { QueryRecord } from '../querylog/types.js';
import type { QueryLogWriter } from '../querylog/writer.js';
import { Resolver, type QueryLogSink } from './chain.js';
import { TcpConnections } from './tcp.js';

let resolver: Resolver | undefined;
let tcp: TcpConnections | undefined;
let writer: QueryLogWriter | undefined;
const udp: UdpSocket[] = [];
/** Queries that arrive before init (a socket handed over first) are answered once it is there. */
const early: (() => void)[] = [];

function send(m: FromWorker): void {
  if (process.connected) process.send?.(m);
}

function adoptUdp(sock: UdpSocket): void {
  udp.push(sock);
  sock.on('error', (e) => send({ t: 'log', level: 'warn', msg: `udp socket error: ${e.message}` }));
  sock.on('message', (msg, rinfo) => {
    const r = resolver;
    if (!r) return;
    const from = rinfo.address;
    // Blocked, cached and local answers come back at once (no Promise); only upstream waits are asynchronous.
    const reply = r.handleNow(msg, from.startsWith('::ffff:') ? from.slice(7) : from, false);
    if (reply === undefined) return;
    if (reply instanceof Promise) void reply.then((out) => out && answer(sock, out, rinfo.port, from));
    else answer(sock, reply, rinfo.port, from);
  });
}

function answer(sock: UdpSocket, reply: Buffer, port: number, address: string): void {
  try {
    sock.send(reply, port, address);
  } catch {
    // The socket closed while the answer was on its way (the worker is stopping).
  }
}

/**
 * The query log's writer (and SQLite with it, ~7 MB of RSS) is loaded only when the log is on; the rows of
 * the few ms the import takes wait in a bounded list.
 */
function openLog(file: string, mode: 'full' | 'anonymous'): QueryLogSink {
  const early: QueryRecord[] = [];
  let failed = false;
  void import('../querylog/writer.js')
    .then(({ QueryLogWriter: W }) => {
      writer = new W(file, mode);
      for (const r of early.splice(0)) writer.push(r);
    })
    .catch((e: Error) => {
      failed = true;
      early.length = 0;
      send({ t: 'log', level: 'error', msg: `query log ${file} cannot be opened, queries are not logged: ${e.message}` });
    });
  return {
    push: (r) => {
      if (writer) writer.push(r);
      else if (!failed && early.length < 10_000) early.push(r);
    },
  };
}

function onMessage(m: ToWorker, handle: unknown): void {
  switch (m.t) {
    case 'init': {
      const s = m.settings;
      resolver = new Resolver(s, s.queryLog.mode === 'off' ? undefined : openLog(s.queryLog.file, s.queryLog.mode));
      const r = resolver;
      tcp = new TcpConnections({ idleMs: s.tcpIdleMs, maxConnections: s.tcpMaxConnections, handle: (msg, client) => r.handle(msg, client, true) });
      for (const f of early.splice(0)) f();
      setInterval(report, 1000).unref();
      setInterval(() => void r.prefetch(), 5000).unref();
      send({ t: 'ready' });
      return;
    }
    case 'udp':
      adoptUdp(handle as UdpSocket);
      return;
    case 'tcp': {
      const sock = handle as Socket | undefined;
      if (!sock) return;
      if (tcp) tcp.adopt(sock);
      else early.push(() => tcp?.adopt(sock));
      return;
    }
    case 'domains':
      void loadDomains(m.file, m.generation);
      return;
    case 'ips':
      resolver?.setIps(m.index);
      return;
    case 'ipDelta':
      resolver?.applyIps(m.delta);
      return;
    case 'groups':
      resolver?.setGroups(m.table);
      return;
    case 'local':
      resolver?.setLocal(m.hosts, m.devices);
      return;
    case 'flush':
      resolver?.cache.flush();
      return;
    case 'flushLog':
      void drainLog().then(() => send({ t: 'logFlushed', id: m.id }));
      return;
    case 'resolved':
      send({ t: 'resolvedName', id: m.id, names: resolver ? resolver.resolved.lookupMany(m.pairs, Date.now()).map((n) => n ?? null) : m.pairs.map(() => null) });
      return;
    case 'explain':
      if (!resolver) return;
      void resolver.explain(m.name, m.qtype, m.client).then((result) => send({ t: 'explained', id: m.id, result }));
      return;
  }
}

/** The generation in force; a file read that finishes after a newer one does not replace it. */
let domainsGeneration = 0;

/** Reads the index file the daemon wrote; a missing or damaged file is logged and the previous index stays. */
async function loadDomains(file: string, generation: number): Promise<void> {
  try {
    const got = await readIndexFile(file);
    // The daemon may have renamed a newer generation into place meanwhile: that one is in force then (its message follows).
    if (got.generation < generation) throw new Error(`found generation ${got.generation}, expected ${generation}`);
    if (got.generation <= domainsGeneration) return;
    domainsGeneration = got.generation;
    resolver?.setDomains(got.index);
  } catch (e) {
    send({ t: 'log', level: 'error', msg: `DNS worker keeps its previous domain index: ${(e as Error).message}` });
  }
}

/** Until the rows pushed so far are written (at most 1.5 s): `dns log` right after a query shows it. */
async function drainLog(): Promise<void> {
  const w = writer;
  if (!w) return;
  const end = Date.now() + 1500;
  while (Date.now() < end) {
    w.flush();
    if (w.stats().buffered === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

function report(): void {
  const r = resolver;
  if (!r) return;
  const c = r.cache.stats();
  send({ t: 'counters', counters: { ...r.counters }, cache: { entries: c.entries, hits: c.hits, misses: c.misses }, upstreams: r.upstreamHealth(), latency: r.latency.snapshot() });
}

process.on('message', (m: ToWorker, handle: unknown) => {
  try {
    onMessage(m, handle);
  } catch (e) {
    send({ t: 'log', level: 'error', msg: `worker message ${m.t} failed: ${(e as Error).message}` });
  }
});
// The daemon decides when work ends (a terminal's ^C reaches the whole group); its channel closing ends us.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
// A bug that escapes the chain's own catch: say so in the daemon's log, then end; the supervisor starts a new worker.
process.on('uncaughtException', (e) => {
  send({ t: 'log', level: 'error', msg: `DNS worker failed: ${e.stack ?? e.message}` });
  setTimeout(() => process.exit(70), 100);
});
process.on('disconnect', () => {
  tcp?.closeAll();
  for (const s of udp) s.close();
  resolver?.close();
  // What the log still buffers gets a second to reach the file; the process ends either way.
  void (writer ? writer.close(1000) : Promise.resolve()).finally(() => process.exit(0));
});
