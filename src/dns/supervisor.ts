import { fork, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { parseListenAddress } from '../config/index.js';
import type { ModuleLog } from '../modules/index.js';
import type { FromWorker, ToWorker, WorkerSettings } from './ipc.js';
import { addLatency, emptyLatency, type LatencyCounts } from './latency.js';
import { emptyCounters, type DnsCounters, type DnsExplain, type DnsWorkerStatus, type UpstreamHealth } from './types.js';

/*
 * The daemon's side of the resolver: binds every `dns.listen` address (UDP and TCP) while still root, forks
 * `dns.workers` resolver processes and hands each the UDP sockets (they all read the same sockets: the
 * kernel spreads datagrams over the readers) and, one by one, the accepted TCP connections (round robin).
 * The daemon itself never reads a query. A worker that dies is forked again with backoff; the others keep
 * serving. The latest snapshots (domain index, IP index, groups, local names) are replayed to a new worker.
 */

export class DnsStartError extends Error {
  override name = 'DnsStartError';
}

/** What the worker's process file is: the .ts under tsx (tests), the .js next to this file when built. */
function workerFile(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './worker/main.ts' : './worker/main.js', import.meta.url);
}

function workerExecArgv(): string[] {
  return import.meta.url.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
}

/**
 * A worker's garbage is per-query and short-lived: a 2 MB young generation (V8's default grows to 16 MB)
 * holds it just as well. Measured with bench/dns.ts (1M names): worker RSS after the max-qps runs 135–154
 * instead of 159–172 MB, CPU per query unchanged (blocked 10.7–10.9 vs 11.1–11.3 µs). Through NODE_OPTIONS,
 * not execArgv: the query log's writer thread inherits execArgv, and a Worker refuses heap-size flags.
 */
function workerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=2`.trim() };
}

function bindError(address: string, proto: string, e: NodeJS.ErrnoException): DnsStartError {
  const port = (() => {
    try {
      return parseListenAddress(address).port;
    } catch {
      return 0;
    }
  })();
  if (e.code === 'EADDRINUSE') return new DnsStartError(`dns.listen ${address} (${proto}): the address is in use by another program (another resolver such as systemd-resolved, dnsmasq or unbound?)`);
  if (e.code === 'EACCES') return new DnsStartError(`dns.listen ${address} (${proto}): permission denied: port ${port} needs root or CAP_NET_BIND_SERVICE`);
  if (e.code === 'EADDRNOTAVAIL') return new DnsStartError(`dns.listen ${address} (${proto}): no interface has this address`);
  return new DnsStartError(`dns.listen ${address} (${proto}): ${e.message}`);
}

interface Bound {
  readonly address: string;
  readonly udp: dgram.Socket;
  readonly tcp: net.Server;
}

async function bindOne(address: string): Promise<Bound> {
  const { host, port } = parseListenAddress(address);
  const v6 = host.includes(':');
  const udp = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', (e) => reject(bindError(address, 'udp', e)));
    udp.bind({ address: host === 'localhost' ? '127.0.0.1' : host, port, exclusive: true }, () => resolve());
  });
  // The daemon keeps its copy (to hand to restarted workers) but must not read from it: a datagram read
  // here would be lost. Node has no public pause for dgram, hence the handle's recvStop.
  stopReading(udp);
  const tcp = net.createServer({ pauseOnConnect: true });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', (e) => reject(bindError(address, 'tcp', e)));
      // Port 0 (tests): TCP takes the port the UDP socket got.
      tcp.listen({ host: host === 'localhost' ? '127.0.0.1' : host, port: udp.address().port, ipv6Only: v6, backlog: 511 }, () => resolve());
    });
  } catch (e) {
    udp.close();
    throw e;
  }
  return { address, udp, tcp };
}

function stopReading(s: dgram.Socket): void {
  const sym = Object.getOwnPropertySymbols(s).find((x) => x.description === 'state symbol');
  const state = sym ? (s as unknown as Record<symbol, { handle?: { recvStop?: () => number } }>)[sym] : undefined;
  if (typeof state?.handle?.recvStop !== 'function') throw new DnsStartError('this Node version does not let the daemon stop reading a UDP socket it hands to the DNS workers');
  state.handle.recvStop();
  // Anything queued before the stop is dropped rather than kept.
  s.on('message', () => undefined);
}

interface Slot {
  readonly index: number;
  child: ChildProcess | undefined;
  ready: boolean;
  restarts: number;
  startedAt: number;
  lastReport: number | null;
  counters: DnsCounters;
  /** Counters of this slot's earlier processes (a restart starts from zero). */
  base: DnsCounters;
  /** The same two for answer times. */
  latency: LatencyCounts;
  latencyBase: LatencyCounts;
  cache: { entries: number; hits: number; misses: number };
  upstreams: readonly UpstreamHealth[];
  timer: NodeJS.Timeout | undefined;
}

function add(a: DnsCounters, b: DnsCounters): DnsCounters {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof DnsCounters)[]) out[k] += b[k];
  return out;
}

export interface SupervisorOptions {
  readonly listen: readonly string[];
  readonly workers: number;
  readonly settings: WorkerSettings;
  readonly log: ModuleLog;
  /** How long start() waits for the workers to say they are ready. */
  readonly readyTimeoutMs?: number;
}

type Pending = { resolve(m: FromWorker): void; timer: NodeJS.Timeout };

export class Supervisor {
  private readonly slots: Slot[] = [];
  private stopping = false;
  private rr = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The latest snapshot of each kind, replayed to a (re)started worker. */
  private readonly latest = new Map<ToWorker['t'], ToWorker | (() => ToWorker | undefined)>();
  private readonly qpsWindow: { t: number; q: number }[] = [];
  private readonly qpsTimer: NodeJS.Timeout;

  private constructor(
    private readonly o: SupervisorOptions,
    private readonly bound: readonly Bound[],
  ) {
    for (const b of bound) b.tcp.on('connection', (s) => this.handOver(s));
    this.qpsTimer = setInterval(() => {
      this.qpsWindow.push({ t: Date.now(), q: this.totals().queries });
      if (this.qpsWindow.length > 6) this.qpsWindow.shift();
    }, 1000);
    this.qpsTimer.unref();
  }

  /** Binds every address (a failure names it) and starts the workers; resolves once all are ready. */
  static async start(o: SupervisorOptions): Promise<Supervisor> {
    const bound: Bound[] = [];
    try {
      for (const a of o.listen) bound.push(await bindOne(a));
    } catch (e) {
      for (const b of bound) closeBound(b);
      throw e;
    }
    const s = new Supervisor(o, bound);
    try {
      await Promise.all(Array.from({ length: o.workers }, (_, i) => s.spawn(i)));
    } catch (e) {
      await s.stop();
      throw e;
    }
    return s;
  }

  /** The addresses actually bound (port 0 resolved). */
  addresses(): string[] {
    return this.bound.map((b) => {
      const a = b.udp.address();
      return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
    });
  }

  private spawn(index: number): Promise<void> {
    const slot: Slot = this.slots[index] ?? {
      index,
      child: undefined,
      ready: false,
      restarts: 0,
      startedAt: 0,
      lastReport: null,
      counters: emptyCounters(),
      base: emptyCounters(),
      latency: emptyLatency(),
      latencyBase: emptyLatency(),
      cache: { entries: 0, hits: 0, misses: 0 },
      upstreams: [],
      timer: undefined,
    };
    this.slots[index] = slot;
    slot.timer = undefined;
    slot.base = add(slot.base, slot.counters);
    slot.counters = emptyCounters();
    slot.latencyBase = addLatency(slot.latencyBase, slot.latency);
    slot.latency = emptyLatency();
    slot.ready = false;
    slot.startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = fork(workerFile(), [], { execArgv: workerExecArgv(), env: workerEnv(), serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    } catch (e) {
      // EMFILE and the like: try again later rather than take the daemon down.
      this.restartLater(slot, `fork failed: ${(e as Error).message}`);
      return Promise.reject(new DnsStartError(`DNS worker ${index} could not be started: ${(e as Error).message}`));
    }
    slot.child = child;
    return new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => reject(new DnsStartError(`DNS worker ${index} did not start within ${this.o.readyTimeoutMs ?? 20_000} ms`)), this.o.readyTimeoutMs ?? 20_000);
      child.on('message', (m: FromWorker) => {
        if (m.t === 'ready') {
          slot.ready = true;
          clearTimeout(timeout);
          resolve();
        }
        this.onMessage(slot, m);
      });
      child.on('error', (e) => this.o.log.warn({ worker: index, err: e.message }, 'DNS worker error'));
      child.on('exit', (code, signal) => {
        clearTimeout(timeout);
        if (slot.child !== child) return;
        slot.child = undefined;
        slot.ready = false;
        if (this.stopping) return;
        reject(new DnsStartError(`DNS worker ${index} exited during start (${signal ?? code})`));
        this.restartLater(slot, `exited (${signal ?? code})`);
      });
      this.sendTo(child, { t: 'init', settings: this.o.settings });
      for (const b of this.bound) if (child.connected) child.send({ t: 'udp', address: b.address } satisfies ToWorker, b.udp);
      for (const m of this.latest.values()) {
        const msg = typeof m === 'function' ? m() : m;
        if (msg) this.sendTo(child, msg);
      }
    });
  }

  /** A worker that lived a while is restarted at once; one that keeps dying waits longer each time (up to 30 s). */
  private restartLater(slot: Slot, why: string): void {
    if (this.stopping) return;
    const lived = Date.now() - slot.startedAt;
    const delay = lived > 30_000 ? 100 : Math.min(30_000, 250 * 2 ** Math.min(slot.restarts, 7));
    slot.restarts++;
    this.o.log.warn({ worker: slot.index, why, restartInMs: delay }, 'DNS worker ended; restarting it');
    slot.timer = setTimeout(() => {
      if (!this.stopping) this.spawn(slot.index).catch((e: Error) => this.o.log.error({ worker: slot.index, err: e.message }, 'DNS worker restart failed'));
    }, delay);
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    switch (m.t) {
      case 'counters':
        slot.counters = m.counters;
        slot.latency = m.latency;
        slot.cache = m.cache;
        slot.upstreams = m.upstreams;
        slot.lastReport = Date.now();
        return;
      case 'log':
        this.o.log[m.level]({ worker: slot.index, ...(m.data ?? {}) }, m.msg);
        return;
      case 'explained':
      case 'resolvedName':
      case 'logFlushed': {
        const p = this.pending.get(m.id);
        if (p) {
          this.pending.delete(m.id);
          clearTimeout(p.timer);
          p.resolve(m);
        }
        return;
      }
      case 'ready':
        return;
    }
  }

  private sendTo(child: ChildProcess, m: ToWorker): void {
    if (child.connected) child.send(m, (e) => e && this.o.log.debug({ err: e.message, t: m.t }, 'message to a DNS worker lost'));
  }

  private live(): ChildProcess[] {
    return this.slots.flatMap((s) => (s.child && s.ready && s.child.connected ? [s.child] : []));
  }

  /** A TCP connection goes to the next live worker; the daemon's copy is closed once sent. */
  private handOver(sock: net.Socket): void {
    const live = this.live();
    if (live.length === 0) {
      sock.destroy();
      return;
    }
    const child = live[this.rr++ % live.length]!;
    child.send({ t: 'tcp' } satisfies ToWorker, sock, (e) => {
      if (e) sock.destroy();
    });
  }

  /** What a worker started later gets instead of the last message of this kind (e.g. the IP index as it is now). */
  replayWith(kind: ToWorker['t'], make: () => ToWorker | undefined): void {
    this.latest.set(kind, make);
  }

  /** To every worker now, and to every worker started later (the last message of each kind). */
  broadcast(m: ToWorker, remember = true): void {
    if (remember) this.latest.set(m.t, m);
    for (const s of this.slots) if (s.child) this.sendTo(s.child, m);
  }

  private ask(child: ChildProcess, make: (id: number) => ToWorker, timeoutMs: number): Promise<FromWorker | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(id, { resolve, timer });
      this.sendTo(child, make(id));
    });
  }

  async explain(name: string, qtype: string, client: string): Promise<DnsExplain> {
    const child = this.live()[0];
    if (!child) throw new DnsStartError('no DNS worker is running');
    const r = await this.ask(child, (id) => ({ t: 'explain', id, name, qtype, client }), 15_000);
    if (r?.t !== 'explained') throw new DnsStartError('the DNS worker did not answer in time');
    return r.result;
  }

  /** The names clients resolved to reach these remotes: every worker is asked (any of them may have answered). */
  async resolvedNames(pairs: readonly { readonly client: string; readonly remote: string }[], timeoutMs = 250): Promise<(string | undefined)[]> {
    const out: (string | undefined)[] = pairs.map(() => undefined);
    if (pairs.length === 0) return out;
    const answers = await Promise.all(this.live().map((c) => this.ask(c, (id) => ({ t: 'resolved', id, pairs }), timeoutMs)));
    for (const a of answers) {
      if (a?.t !== 'resolvedName') continue;
      a.names.forEach((n, i) => {
        if (n && out[i] === undefined) out[i] = n;
      });
    }
    return out;
  }

  /** Makes every worker write its buffered query-log rows now. */
  async flushLogs(): Promise<void> {
    await Promise.all(this.live().map((c) => this.ask(c, (id) => ({ t: 'flushLog', id }), 2000)));
  }

  totals(): DnsCounters {
    return this.slots.reduce((acc, s) => add(acc, add(s.base, s.counters)), emptyCounters());
  }

  /** Answer times summed over the workers since the start (restarted workers' earlier counts included). */
  latency(): LatencyCounts {
    return this.slots.reduce((acc, s) => addLatency(acc, addLatency(s.latencyBase, s.latency)), emptyLatency());
  }

  qps(): number {
    const w = this.qpsWindow;
    if (w.length < 2) return 0;
    const a = w[0]!;
    const b = w[w.length - 1]!;
    return Math.round(((b.q - a.q) * 1000) / Math.max(1, b.t - a.t));
  }

  workers(): DnsWorkerStatus[] {
    return this.slots.map((s) => ({ pid: s.child?.pid ?? 0, restarts: s.restarts, lastReport: s.lastReport, counters: add(s.base, s.counters), cache: s.cache, upstreams: s.upstreams }));
  }

  pids(): number[] {
    return this.slots.flatMap((s) => (s.child?.pid ? [s.child.pid] : []));
  }

  /** Ends the workers (closing their channel ends them; SIGKILL after 3 s) and closes the sockets. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.qpsTimer);
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    for (const b of this.bound) b.tcp.close();
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.timer) clearTimeout(s.timer);
        const c = s.child;
        if (!c || c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        const kill = setTimeout(() => c.kill('SIGKILL'), 3000);
        if (c.connected) c.disconnect();
        else c.kill('SIGKILL');
        await exited;
        clearTimeout(kill);
      }),
    );
    for (const b of this.bound) closeBound(b);
  }
}

function closeBound(b: Bound): void {
  try {
    b.udp.close();
  } catch {
    // Already closed.
  }
  b.tcp.close();
}
