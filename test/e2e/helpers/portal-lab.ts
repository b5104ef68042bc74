/**
 * The portal's kernel side in a lab gateway namespace, without the daemon: the firewall's and the portal's
 * fragments composed into the real `inet gatehouse` table and applied with nft inside the namespace, a
 * KernelRuntime bound to that nft, conntrack run inside the namespace, a stand-in portal listener on the
 * gateway and a traffic source in the lab's internet. Used by test/e2e/portal-kernel-lab.test.ts and
 * bench/portal-accounting.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { composeTable } from '../../../src/firewall/compose.js';
import type { NftRunner } from '../../../src/firewall/nft.js';
import { firewallFragment } from '../../../src/firewall/ruleset.js';
import { kernelRuntime, type KernelRuntime } from '../../../src/firewall/runtime.js';
import { CommandError, labDown, labUp, nsExec, spawnInNs, type Lab } from '../../../src/lab/index.js';
import { portalFragment, RuntimePortalKernel, type ConntrackRun, type Exemptions, type PortalFragmentOptions } from '../../../src/portal/kernel/index.js';

export const TABLE = 'gatehouse';
export const PORTAL_PORT = 8080;
/** The traffic source's ports in the lab internet: HTTP streaming zeros, and a TCP banner on 443. */
export const SOURCE_HTTP_PORT = 8081;
export const HTTPS_PORT = 443;
export const PORTAL_BODY = 'PORTAL-LOGIN-PAGE';
export const BANNER = 'hello-from-443';
export const GATEWAY_SERVICE_PORT = 9090;
export const GATEWAY_SERVICE_BODY = 'GATEWAY-ADMIN';

async function exec(ns: string, cmd: string, args: readonly string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await nsExec(ns, cmd, args, { ...(input !== undefined ? { input } : {}), timeoutMs: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    if (e instanceof CommandError && e.exitCode !== null) return { code: e.exitCode, stdout: e.stdout, stderr: e.stderr };
    throw e;
  }
}

/** nft inside the namespace (the same commands the daemon's runner uses, through nsenter). */
export function nsNft(ns: string): NftRunner {
  const list = async (kind: 'set' | 'map', table: string, name: string): Promise<unknown> => {
    const r = await exec(ns, 'nft', ['-j', 'list', kind, 'inet', table, name]);
    if (r.code !== 0) {
      if (/No such file or directory|does not exist/.test(r.stderr)) return undefined;
      throw new Error(`nft list ${kind} ${name}: ${r.stderr}`);
    }
    return JSON.parse(r.stdout) as unknown;
  };
  return {
    async apply(script) {
      const r = await exec(ns, 'nft', ['-f', '-'], script);
      if (r.code !== 0) throw new Error(`nft rejected the update: ${r.stderr}`);
    },
    listSet: (t, s) => list('set', t, s),
    listMap: (t, m) => list('map', t, m),
    async hasTable() {
      return (await exec(ns, 'nft', ['-t', 'list', 'table', 'inet', TABLE])).code === 0;
    },
  };
}

export const nsConntrack = (ns: string): ConntrackRun => (argv) => exec(ns, 'conntrack', argv);

// Dual-stack listeners ('::' takes IPv4 too): zeros as fast as the socket takes them, and a banner on 443.
const SOURCE = `
const http = require('node:http'); const net = require('node:net');
const chunk = Buffer.alloc(1 << 16);
http.createServer((req, res) => {
  const n = Number(new URL(req.url, 'http://x').searchParams.get('bytes') || 1e12);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) });
  let left = n;
  const pump = () => { while (left > 0) { const c = left >= chunk.length ? chunk : chunk.subarray(0, left); left -= c.length; if (!res.write(c)) return res.once('drain', pump); } res.end(); };
  res.on('close', () => { left = 0; });
  pump();
}).listen(${SOURCE_HTTP_PORT}, '::');
net.createServer((s) => { s.on('error', () => {}); s.end('${BANNER}\\n'); }).listen(${HTTPS_PORT}, '::', () => console.log('ready'));
`;
// The portal stand-in, and another service of the gateway (say its admin page) that only granted clients reach.
const PORTAL = `
const http = require('node:http');
http.createServer((req, res) => res.end('${GATEWAY_SERVICE_BODY}')).listen(${GATEWAY_SERVICE_PORT}, '::');
http.createServer((req, res) => { res.end('${PORTAL_BODY} ' + req.headers.host + req.url); }).listen(${PORTAL_PORT}, '::', () => console.log('ready'));
`;

function started(p: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not start`)), 20_000);
    p.stdout?.once('data', () => {
      clearTimeout(t);
      resolve();
    });
    p.once('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`${what} exited (${String(c)})`));
    });
  });
}

/** The traffic source (zeros over HTTP on SOURCE_HTTP_PORT, a banner on 443) in a namespace; stops with it. */
export async function startTrafficSource(ns: string): Promise<ChildProcess> {
  const p = spawnInNs(ns, process.execPath, ['-e', SOURCE], { stdio: ['ignore', 'pipe', 'inherit'] });
  await started(p, 'traffic source');
  return p;
}

export interface PortalLab {
  readonly lab: Lab;
  readonly runtime: KernelRuntime;
  readonly nft: NftRunner;
  /** A fresh PortalKernel on the table (a second one is what a restarted daemon would build). */
  kernel(exempt?: Exemptions): RuntimePortalKernel;
  down(): Promise<void>;
}

export async function portalLabUp(prefix: string, opts: Partial<PortalFragmentOptions> = {}): Promise<PortalLab> {
  const lab = await labUp({ prefix, dns: false });
  try {
    const gw = lab.topology.gateway;
    const fragment = portalFragment({ lanInterfaces: gw.lanInterfaces, portalPort: PORTAL_PORT, ...opts });
    const fw = firewallFragment({ table: TABLE, lan: gw.lanInterfaces, wan: [gw.wanInterface], inbound: 'enforce', outbound: 'enforce', hitTimeoutSec: 60, hitSetSize: 65536 });
    const nft = nsNft(gw.ns);
    await nft.apply(composeTable(TABLE, [fw, fragment]).script);
    const portal = spawnInNs(gw.ns, process.execPath, ['-e', PORTAL], { stdio: ['ignore', 'pipe', 'inherit'] });
    await Promise.all([started(portal, 'portal stand-in'), startTrafficSource(lab.topology.inet.ns)]);
    const runtime = kernelRuntime({ table: TABLE, nft, fragment: () => fragment, ready: async () => undefined, module: 'portal' });
    return {
      lab,
      runtime,
      nft,
      kernel: (exempt) => new RuntimePortalKernel({ runtime, conntrack: nsConntrack(gw.ns), ...(exempt ? { exempt } : {}) }),
      // labDown stops every process inside the lab's namespaces (the two above included) and deletes them.
      down: async () => void (await labDown(prefix, { removeStateDir: true })),
    };
  } catch (e) {
    await labDown(prefix, { removeStateDir: true }).catch(() => undefined);
    throw e;
  }
}

export interface Curl {
  readonly code: number;
  readonly http: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly body: string;
}

/** curl inside a client namespace: exit code (7 = refused/reset, 28 = timeout), status, bytes, time. */
export async function curlFrom(ns: string, url: string, extra: readonly string[] = [], maxSec = 10): Promise<Curl> {
  const r = await exec(ns, 'curl', ['-sS', '-g', '--max-time', String(maxSec), '-w', '\n@@%{http_code} %{size_download} %{time_total}', ...extra, url]);
  const at = r.stdout.lastIndexOf('\n@@');
  const [http, bytes, seconds] = (at >= 0 ? r.stdout.slice(at + 3) : '0 0 0').split(' ').map(Number) as [number, number, number];
  return { code: r.code, http, bytes, seconds, body: at >= 0 ? r.stdout.slice(0, Math.min(at, 4096)) : '' };
}

/** Downloads to /dev/null (big bodies): aborts when the rate stays under 1 kB/s for `stallSec`. */
export async function downloadFrom(ns: string, url: string, maxSec: number, stallSec = 2): Promise<Curl> {
  const r = await exec(ns, 'curl', ['-sS', '-g', '--max-time', String(maxSec), '-Y', '1000', '-y', String(stallSec), '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}', url]);
  const [http, bytes, seconds] = r.stdout.trim().split(' ').map(Number) as [number, number, number];
  return { code: r.code, http: http ?? 0, bytes: bytes ?? 0, seconds: seconds ?? 0, body: r.stderr };
}

/** Polls `check` every 250 ms until it returns something other than undefined; fails after `ms`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A download source for the lab internet (`node -e` script): `GET /?bytes=N` answers N zero bytes as fast as
 * the socket takes them, on every address at `port`; prints "ready" once listening.
 */
export function downloadSourceScript(port: number): string {
  return `
const chunk = Buffer.alloc(1 << 16);
require('node:http').createServer((req, res) => {
  const n = Number(new URL(req.url, 'http://x').searchParams.get('bytes') || 1e9);
  res.writeHead(200, { 'content-length': String(n) });
  let left = n;
  const pump = () => { while (left > 0) { const c = left >= chunk.length ? chunk : chunk.subarray(0, left); left -= c.length; if (!res.write(c)) return res.once('drain', pump); } res.end(); };
  res.on('close', () => { left = 0; });
  pump();
}).listen(${port}, '::', () => console.log('ready'));
`;
}
