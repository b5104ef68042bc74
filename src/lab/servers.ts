/**
 * The lab's servers, one process per namespace: web sites (legit, phishing, ads, /feeds/), client1's "ssh"
 * banner and UDP echo. Started by lab.ts under `nsenter`; usable on its own:
 *
 *   node --import tsx src/lab/servers.ts --lab gh --spec '{"lab":"gh","name":"x","readyFile":"/tmp/r","listeners":[...]}'
 *
 * Every request/connection is logged as one JSON line on stdout (lab.ts sends that to a log file), so a
 * test can prove a blocked client never reached a server.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type AddressInfo, type Socket as TcpSocket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readdir, readFile, stat, writeFile, rename } from 'node:fs/promises';
import { isIP } from 'node:net';
import { pathToFileURL } from 'node:url';
import { serverSpecSchema, type Listener, type ServerSpec, type SiteName } from './server-spec.js';
import { adsPage, legitPage, phishingCapturedPage, phishingPage, PROBE_ANSWERS, SITE_HEADER, SITE_MARKER } from './pages.js';

export interface BoundListener {
  readonly kind: Listener['kind'];
  readonly host: string;
  readonly port: number;
}

export interface RunningServers {
  readonly bound: readonly BoundListener[];
  close(): Promise<void>;
}

type Log = (entry: Record<string, unknown>) => void;

const defaultLog: Log = (entry) => {
  process.stdout.write(`${JSON.stringify({ t: new Date().toISOString(), ...entry })}\n`);
};

const FEED_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function contentTypeFor(name: string): string {
  if (name.endsWith('.json')) return 'application/json';
  if (name.endsWith('.csv')) return 'text/csv; charset=utf-8';
  return 'text/plain; charset=utf-8';
}

async function serveFeed(feedsDir: string | undefined, rest: string, req: IncomingMessage, res: ServerResponse): Promise<number> {
  if (!feedsDir) return send(res, 404, 'text/plain; charset=utf-8', 'no feeds directory configured\n');
  if (rest === '') {
    const names = (await readdir(feedsDir).catch(() => [])).filter((n) => FEED_NAME.test(n)).sort();
    return send(res, 200, 'text/plain; charset=utf-8', names.map((n) => `${n}\n`).join(''));
  }
  let name: string;
  try {
    name = decodeURIComponent(rest);
  } catch {
    return send(res, 400, 'text/plain; charset=utf-8', 'bad file name\n');
  }
  // Names only, never paths: the feeds folder is the whole world of this route.
  if (!FEED_NAME.test(name)) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  const path = `${feedsDir}/${name}`;
  const st = await stat(path).catch(() => undefined);
  if (!st || !st.isFile()) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  // Validators so feed fetchers can be tested with conditional GETs (304).
  const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString();
  res.setHeader('etag', etag);
  res.setHeader('last-modified', lastModified);
  const inm = req.headers['if-none-match'];
  const ims = req.headers['if-modified-since'];
  const notModified = inm !== undefined
    ? inm.split(',').map((s) => s.trim()).includes(etag)
    : ims !== undefined && !Number.isNaN(Date.parse(ims)) && Math.floor(st.mtimeMs / 1000) * 1000 <= Date.parse(ims);
  if (notModified) {
    res.statusCode = 304;
    res.end();
    return 304;
  }
  const body = await readFile(path);
  return send(res, 200, contentTypeFor(name), body, req.method === 'HEAD');
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headOnly = false): number {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('cache-control', 'no-store');
  res.end(headOnly ? undefined : body);
  return status;
}

async function handle(site: SiteName, feedsDir: string | undefined, req: IncomingMessage, res: ServerResponse): Promise<number> {
  res.setHeader(SITE_HEADER, site);
  const url = new URL(req.url ?? '/', 'http://lab.invalid');
  const html = 'text/html; charset=utf-8';
  if (url.pathname === '/whoami') {
    return send(res, 200, 'application/json', JSON.stringify({
      site,
      marker: SITE_MARKER[site],
      remoteAddress: req.socket.remoteAddress,
      remotePort: req.socket.remotePort,
      localAddress: req.socket.localAddress,
      localPort: req.socket.localPort,
    }));
  }
  const probe = Object.hasOwn(PROBE_ANSWERS, url.pathname) ? PROBE_ANSWERS[url.pathname] : undefined;
  if (probe) {
    if (probe.status === 204) {
      res.statusCode = 204;
      res.setHeader('cache-control', 'no-store');
      res.end();
      return 204;
    }
    return send(res, probe.status, probe.contentType!, probe.body, req.method === 'HEAD');
  }
  if (site === 'legit' && url.pathname.startsWith('/feeds/')) {
    return serveFeed(feedsDir, url.pathname.slice('/feeds/'.length), req, res);
  }
  if (site === 'phishing' && url.pathname === '/login' && req.method === 'POST') {
    // Drain (bounded) and discard: the demo only needs to show that the form was submitted.
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 64 * 1024) break;
    }
    return send(res, 200, html, phishingCapturedPage());
  }
  if (site === 'ads') return send(res, 200, html, adsPage(), req.method === 'HEAD');
  if (url.pathname === '/' || url.pathname === '/index.html' || (site === 'phishing' && url.pathname.startsWith('/signin'))) {
    return send(res, 200, html, site === 'legit' ? legitPage() : phishingPage(), req.method === 'HEAD');
  }
  return send(res, 404, 'text/plain; charset=utf-8', `not found (${SITE_MARKER[site]})\n`);
}

function listenTcp(server: HttpServer | TcpServer, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: isIP(host) === 6, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function bindUdp(sock: UdpSocket, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: host, port, exclusive: true }, () => {
      sock.off('error', reject);
      resolve(sock.address());
    });
  });
}

/** Binds every listener of the spec; rejects (after closing what was opened) if any fails. */
export async function startListeners(spec: ServerSpec, log: Log = defaultLog): Promise<RunningServers> {
  const closers: Array<() => Promise<void>> = [];
  const bound: BoundListener[] = [];
  const close = async () => {
    await Promise.all(closers.map((c) => c().catch(() => {})));
  };
  try {
    for (const l of spec.listeners) {
      if (l.kind === 'http') {
        const server = createHttpServer((req, res) => {
          const started = Date.now();
          handle(l.site, l.feedsDir, req, res)
            .then((status) => log({ kind: 'http', site: l.site, remote: req.socket.remoteAddress, local: req.socket.localAddress, method: req.method, path: req.url, status, ms: Date.now() - started }))
            .catch((err: unknown) => {
              log({ kind: 'http', site: l.site, remote: req.socket.remoteAddress, method: req.method, path: req.url, error: String(err) });
              if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
              else res.destroy();
            });
        });
        server.keepAliveTimeout = 1000;
        const a = await listenTcp(server, l.host, l.port);
        bound.push({ kind: 'http', host: a.address, port: a.port });
        closers.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
      } else if (l.kind === 'banner') {
        const sockets = new Set<TcpSocket>();
        const server = createTcpServer((sock) => {
          sockets.add(sock);
          log({ kind: 'banner', remote: sock.remoteAddress, remotePort: sock.remotePort, local: sock.localAddress, localPort: sock.localPort });
          sock.on('error', () => {});
          sock.on('close', () => sockets.delete(sock));
          sock.setTimeout(30_000, () => sock.destroy());
          sock.write(`${l.text}\r\n`);
          // Echo lines back, so a probe can also check data flows in both directions.
          sock.on('data', (d) => sock.write(d));
        });
        const a = await listenTcp(server, l.host, l.port);
        bound.push({ kind: 'banner', host: a.address, port: a.port });
        closers.push(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
      } else {
        const sock = createSocket({ type: isIP(l.host) === 6 ? 'udp6' : 'udp4', ipv6Only: isIP(l.host) === 6 });
        sock.on('message', (msg, rinfo) => {
          log({ kind: 'udp-echo', remote: rinfo.address, remotePort: rinfo.port, bytes: msg.length });
          sock.send(msg, rinfo.port, rinfo.address);
        });
        const a = await bindUdp(sock, l.host, l.port);
        sock.on('error', (err) => log({ kind: 'udp-echo', error: String(err) }));
        bound.push({ kind: 'udp-echo', host: a.address, port: a.port });
        closers.push(() => new Promise<void>((r) => sock.close(() => r())));
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { bound, close };
}

function parseArgs(argv: readonly string[]): ServerSpec {
  const i = argv.indexOf('--spec');
  const raw = i >= 0 ? argv[i + 1] : undefined;
  if (raw === undefined) throw new Error('usage: servers --lab <prefix> --spec <json ServerSpec>');
  const spec = serverSpecSchema.parse(JSON.parse(raw));
  const lab = argv[argv.indexOf('--lab') + 1];
  if (argv.indexOf('--lab') < 0 || lab !== spec.lab) throw new Error(`--lab must be given and equal spec.lab (${spec.lab})`);
  return spec;
}

async function main(): Promise<void> {
  const spec = parseArgs(process.argv.slice(2));
  const running = await startListeners(spec);
  const tmp = `${spec.readyFile}.tmp`;
  await writeFile(tmp, JSON.stringify({ pid: process.pid, name: spec.name, bound: running.bound }));
  await rename(tmp, spec.readyFile);
  defaultLog({ kind: 'ready', name: spec.name, pid: process.pid, bound: running.bound });
  const stop = (sig: string) => {
    defaultLog({ kind: 'stop', signal: sig });
    void running.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`lab servers failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
