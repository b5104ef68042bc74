import Fastify, { type FastifyInstance } from 'fastify';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, connect, type Socket } from 'node:net';
import ipaddr from 'ipaddr.js';
import { parseListenAddress } from './address.js';

/**
 * Every listener the daemon opens (the CrowdSec-compatible LAPI, the blocklist mirror, the admin API on
 * TCP and on its Unix socket) is set up here, so that none of them can be made to hold connections, and
 * with them file descriptors, without bound. Running out of descriptors is not a local problem: the next
 * `nft` the daemon spawns fails, so one hostile LAN client could stop the enforcement of every decision.
 */

/** Named after the config key that opens the listener, so messages can point at it. */
export type ListenerKey = 'lapi.listen' | 'mirror.listen' | 'api.listen' | 'api.socket' | 'portal.listen' | 'web.listen';

export interface ListenerLimits {
  /** Connections open at once; more are accepted and closed at once (Node's `server.maxConnections`). */
  readonly maxConnections: number;
  /** Connections open at once from one client (an IPv4 address, or an IPv6 /64); 0 = no such cap. */
  readonly maxPerClient: number;
  /** From the first byte of a request (or the connection) to the end of its headers. */
  readonly headersTimeoutMs: number;
  /** From the first byte of a request to the end of its body; the response is not limited by it. */
  readonly requestTimeoutMs: number;
  /** How long a kept-alive connection may wait for its next request. */
  readonly keepAliveTimeoutMs: number;
  /** No byte in either direction for this long while a request is in progress: closed. 0 = off. */
  readonly idleTimeoutMs: number;
}

/**
 * Fixed on purpose (not config keys): each follows from the protocol or from the open-file limit, which
 * is what an admin actually raises (systemd `LimitNOFILE`); `budgetLimits` scales the caps down when it
 * is low. The reasons, per listener:
 * - lapi: a hundred bouncers polling every 10 s with keep-alive hold a hundred connections; 30 s of
 *   keep-alive outlasts their poll interval, so they reuse it and never race a close. A 1M startup
 *   stream takes ~5 s and keeps writing, so only a full minute without a byte ends a response. A watcher
 *   posts a few small alerts at a time, well within 30 s. 128 a client leaves room for many bouncers
 *   behind one address (bench/lapi-stream.ts runs 100 from one, each on its own connection), while
 *   still taking more than one flooding host to fill the listener.
 * - mirror: firewalls pull a list every few minutes; no need to keep connections alive for long.
 * - portal.listen: every LAN device that is not logged in lands here, and phones probe it in the
 *   background; a browser opens about six connections per host, so 32 a client. Pages are small and
 *   forms short, so tight timeouts.
 * - api.listen / api.socket: only the admin (token or root) gets past the headers; an import may send up
 *   to 512 MB, and `feeds refresh` or a 1M import answers only once the kernel holds the result, which
 *   can take a minute with no byte on the wire, hence no idle timeout there.
 */
export const LISTENER_LIMITS: Readonly<Record<ListenerKey, ListenerLimits>> = {
  'lapi.listen': {
    maxConnections: 1024,
    maxPerClient: 128,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 30_000,
    idleTimeoutMs: 60_000,
  },
  'mirror.listen': {
    maxConnections: 256,
    maxPerClient: 16,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 5_000,
    idleTimeoutMs: 60_000,
  },
  'api.listen': {
    maxConnections: 64,
    maxPerClient: 16,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 300_000,
    keepAliveTimeoutMs: 30_000,
    idleTimeoutMs: 0,
  },
  'portal.listen': {
    maxConnections: 512,
    maxPerClient: 32,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 15_000,
    keepAliveTimeoutMs: 5_000,
    idleTimeoutMs: 30_000,
  },
  // The dashboard: a few browsers, each holding one live stream (server-sent events) open for as long as
  // the page shows, so no idle timeout; the headers limit keeps a slow client from holding a slot before login.
  'web.listen': {
    maxConnections: 64,
    maxPerClient: 16,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 60_000,
    keepAliveTimeoutMs: 30_000,
    idleTimeoutMs: 0,
  },
  'api.socket': {
    maxConnections: 64,
    maxPerClient: 0,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 300_000,
    keepAliveTimeoutMs: 30_000,
    idleTimeoutMs: 0,
  },
};

/** How often Node checks the headers and request timeouts (its default, 30 s, would triple a 10 s limit). */
const TIMEOUT_CHECK_MS = 1000;

/** Where refused connections and server errors are reported (a pino logger fits). */
export interface ListenerLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const silent: ListenerLog = { warn: () => undefined, error: () => undefined };

/**
 * One counter per client: IPv4-mapped IPv6 counts as the IPv4 address, and IPv6 by its /64, because a
 * LAN host can give itself any number of addresses inside its prefix.
 */
export function clientKey(remote: string | undefined): string | undefined {
  if (!remote) return undefined;
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.process(remote);
  } catch {
    return remote;
  }
  if (a.kind() === 'ipv4') return a.toString();
  return `${(a as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`;
}

/**
 * Refusals are logged at once the first time, then summed up at most once a minute: a flood must not
 * turn into a flood of log lines.
 */
class RefusalLog {
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly key: ListenerKey,
    private readonly log: ListenerLog,
  ) {}

  refused(why: 'listener' | 'client', client: string | undefined, cap: number): void {
    if (this.timer) {
      this.count++;
      return;
    }
    this.log.warn({ listener: this.key, client, cap }, `${this.key}: connection refused, ${why === 'client' ? 'this client has' : 'the listener has'} ${cap} open already`);
    this.timer = setTimeout(() => this.flush(), 60_000).unref();
  }

  private flush(): void {
    this.timer = undefined;
    if (this.count === 0) return;
    this.log.warn({ listener: this.key, refused: this.count }, `${this.key}: ${this.count} more connections refused in the last minute (connection caps reached)`);
    this.count = 0;
    this.timer = setTimeout(() => this.flush(), 60_000).unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * An HTTP server with `limits` applied, for Fastify's `serverFactory`. Connections over a cap are closed
 * as soon as they are accepted, so the descriptors they cost are given back at once.
 */
export function limitedHttpServer(key: ListenerKey, handler: Handler, limits: ListenerLimits, log: ListenerLog = silent, tls?: TlsFiles): Server {
  const opts = {
    headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
  };
  // An https.Server is an http.Server over TLS sockets: the caps below apply to it unchanged.
  const server = tls ? (createHttpsServer({ ...opts, cert: tls.cert, key: tls.key }, handler) as unknown as Server) : createHttpServer(opts, handler);
  server.timeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections;
  const refusals = new RefusalLog(key, log);
  server.on('drop', (d?: { remoteAddress?: string }) => refusals.refused('listener', d?.remoteAddress, limits.maxConnections));
  if (limits.maxPerClient > 0) {
    const open = new Map<string, number>();
    server.on('connection', (socket: Socket) => {
      const k = clientKey(socket.remoteAddress);
      if (k === undefined) return;
      const n = open.get(k) ?? 0;
      if (n >= limits.maxPerClient) {
        refusals.refused('client', k, limits.maxPerClient);
        socket.destroy();
        return;
      }
      open.set(k, n + 1);
      socket.once('close', () => {
        const left = (open.get(k) ?? 1) - 1;
        if (left > 0) open.set(k, left);
        else open.delete(k);
      });
    });
  }
  // After listening, an error (e.g. accept failing with EMFILE) must be logged, not end the process.
  server.on('error', (e: Error) => log.error({ listener: key, err: e.message }, `${key}: server error`));
  server.on('close', () => refusals.stop());
  return server;
}

/** A certificate chain and its private key, PEM, for a listener that speaks HTTPS. */
export interface TlsFiles {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/** The Fastify options that make it build its server with `limitedHttpServer`. */
export function limitedServerFactory(key: ListenerKey, limits: ListenerLimits, log?: ListenerLog, tls?: TlsFiles): { serverFactory: (h: Handler) => Server } {
  return { serverFactory: (h: Handler) => limitedHttpServer(key, h, limits, log, tls) };
}

export class ListenError extends Error {
  override name = 'ListenError';
}

/** Says which config key and address a failed listen was about, and what to do about it. */
export function listenErrorText(key: ListenerKey, where: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return `${key}: ${where} is already in use (another program, or another gatehouse, listens there)`;
  if (code === 'EADDRNOTAVAIL') return `${key}: ${where} is not an address of this machine`;
  if (code === 'EACCES') return `${key}: not allowed to listen on ${where}`;
  return `${key}: cannot listen on ${where}: ${e instanceof Error ? e.message : String(e)}`;
}

/**
 * Checks that `text` (ADDRESS:PORT) can be listened on, by binding and closing it at once: the daemon
 * does this before it touches the kernel, so a port in use refuses the start with nothing changed.
 */
export function probeListen(key: ListenerKey, text: string): Promise<void> {
  const a = parseListenAddress(text);
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', (e) => reject(new ListenError(listenErrorText(key, text, e))));
    s.listen({ host: a.host, port: a.port, exclusive: true }, () => s.close(() => resolve()));
  });
}

/**
 * A Unix socket that answers belongs to a running daemon: starting a second one would take its socket
 * away and fight over the same table. A stale file (no one listening) is fine; the start replaces it.
 */
export function probeSocket(key: ListenerKey, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ path });
    s.once('connect', () => {
      s.destroy();
      reject(new ListenError(`${key}: ${path} is in use: another gatehouse is running with this socket (stop it first)`));
    });
    s.once('error', () => resolve());
  });
}

/** Connection caps and timeouts per listener (sized to the open-file limit by the daemon), and where refusals go. */
export interface ListenerSetup {
  readonly limits?: Partial<Record<ListenerKey, ListenerLimits>>;
  readonly log?: ListenerLog;
}

/** Fastify on a server with the listener's limits: the one way the daemon makes an HTTP listener. */
export function limitedFastify(key: ListenerKey, setup: ListenerSetup = {}, opts: { trustProxy?: false; bodyLimit?: number; tls?: TlsFiles } = {}): FastifyInstance {
  const limits = setup.limits?.[key] ?? LISTENER_LIMITS[key];
  const { tls, ...rest } = opts;
  return Fastify({ logger: false, forceCloseConnections: true, ...rest, ...limitedServerFactory(key, limits, setup.log, tls) });
}

/** Listens on ADDRESS:PORT or a Unix socket path; a failure names the config key and the address. */
export async function listenOn(app: FastifyInstance, key: ListenerKey, where: string): Promise<string> {
  try {
    if (key === 'api.socket') return await app.listen({ path: where });
    const a = parseListenAddress(where);
    return await app.listen({ host: a.host, port: a.port });
  } catch (e) {
    throw new ListenError(listenErrorText(key, where, e));
  }
}
