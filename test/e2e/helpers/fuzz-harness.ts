/**
 * Effects the hardening fuzz test needs around a lab gateway: bounded CLI and admin-API calls (a frozen
 * daemon must fail a check, not hang the test), the kernel's host sets read by name, and a stand-in
 * upstream CrowdSec LAPI in the lab's internet namespace whose answers the test rewrites.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { writeFile, rename } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { CLI_PATH, type CliResult } from '../../../src/lab/gateway-runner.js';
import { netnsPath, nsExec } from '../../../src/lab/ns.js';
import { tryParseTarget } from '../../../src/net/ip.js';

export interface Timed<T> {
  readonly result: T | undefined;
  /** True when the call did not answer within its limit (it was then cancelled). */
  readonly hung: boolean;
}

/** The CLI with a hard limit; argv only. NUL cannot travel in argv, so it is spelled out. */
export function cliBounded(configFile: string, args: readonly string[], timeoutMs: number, positional: readonly string[] = []): Promise<Timed<CliResult>> {
  const clean = (a: string) => a.replace(/\0/g, '\\0');
  // Options first, then `--`, so a value like "-8.8.8.8" or "--force" stays a value.
  const argv = [CLI_PATH, ...args.map(clean), '--config', configFile, ...(positional.length ? ['--', ...positional.map(clean)] : [])];
  return new Promise((done) => {
    execFile(process.execPath, argv, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
      if (e?.killed) return done({ result: undefined, hung: true });
      done({ result: { code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }, hung: false });
    });
  });
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** One admin-API request over its Unix socket, with a raw body (so the test can send any JSON token). */
export function adminRequest(socket: string, method: string, path: string, body: string | undefined, contentType: string, timeoutMs: number): Promise<Timed<HttpAnswer>> {
  return new Promise((done) => {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) };
    const req = request({ socketPath: socket, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        done({ result: { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }, hung: false });
      });
      res.on('error', () => undefined);
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ result: undefined, hung: true });
    }, timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      done({ result: { status: 0, body: e.message }, hung: false });
    });
    req.end(body);
  });
}

/** What one host set holds: value → seconds until the kernel drops it (undefined = no timeout). */
export type SetContents = Map<string, number | undefined>;

interface NftElem {
  elem?: { val?: unknown; expires?: number };
}

/** Reads one set of Gatehouse's table by name inside the gateway namespace (never the whole ruleset). */
export async function readHostSet(gwNs: string, table: string, set: string): Promise<SetContents> {
  const { stdout } = await nsExec(gwNs, 'nft', ['-j', 'list', 'set', 'inet', table, set], { timeoutMs: 10_000 });
  const doc = JSON.parse(stdout) as { nftables?: { set?: { elem?: (string | NftElem)[] } }[] };
  const out: SetContents = new Map();
  for (const item of doc.nftables ?? []) {
    for (const e of item.set?.elem ?? []) {
      if (typeof e === 'string') out.set(e, undefined);
      else if (typeof e.elem?.val === 'string') out.set(e.elem.val, e.elem.expires);
    }
  }
  return out;
}

export interface UpstreamState {
  /** Served to `startup=true` (what the upstream holds now). */
  readonly full: unknown;
  /** Served to every other poll (changes since the last one); a string is served as is (broken JSON). */
  readonly delta: unknown;
}

/**
 * A minimal upstream CrowdSec LAPI: answers /v1/decisions/stream from a JSON file the test rewrites, and
 * reports each answer (which file version, full or delta) on stdout so the test knows what was consumed.
 */
const UPSTREAM = `
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
const [host, port, file] = process.argv.slice(1);
createServer((req, res) => {
  let st = { version: -1, full: { new: null, deleted: null }, delta: { new: null, deleted: null } };
  try { st = JSON.parse(readFileSync(file, 'utf8')); } catch {}
  const full = /[?&]startup=true/.test(req.url ?? '');
  const body = full ? st.full : st.delta;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
  process.stdout.write(JSON.stringify({ version: st.version, full }) + '\\n');
}).listen(Number(port), host, () => process.stdout.write('ready\\n'));
`;

export class FakeUpstream {
  private version = 0;
  private readonly served: { version: number; full: boolean }[] = [];
  private constructor(private readonly child: ChildProcess, private readonly file: string) {}

  static async start(ns: string, host: string, port: number, file: string): Promise<FakeUpstream> {
    const child = spawn('nsenter', [`--net=${netnsPath(ns)}`, process.execPath, '--input-type=module', '-e', UPSTREAM, host, String(port), file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const u = new FakeUpstream(child, file);
    await u.set({ full: { new: null, deleted: null }, delta: { new: null, deleted: null } });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('fake upstream LAPI did not start in 15 s')), 15_000);
      child.once('exit', (c) => reject(new Error(`fake upstream LAPI exited with ${c}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line === 'ready') {
          clearTimeout(t);
          return resolve();
        }
        try {
          u.served.push(JSON.parse(line) as { version: number; full: boolean });
        } catch {
          /* not ours */
        }
      });
    });
    return u;
  }

  /** Rewrites what the upstream answers; returns the new version. */
  async set(state: UpstreamState): Promise<number> {
    this.version++;
    await writeFile(`${this.file}.tmp`, JSON.stringify({ version: this.version, ...state }));
    await rename(`${this.file}.tmp`, this.file);
    return this.version;
  }

  /**
   * Waits until the client fetched `version` and then asked again: the stream client applies one answer
   * before it polls for the next, so the second request proves the first was handed to the daemon.
   */
  async consumed(version: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const i = this.served.findIndex((s) => s.version === version);
      if (i >= 0 && this.served.length > i + 1) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** Runs `f` over `items` with at most `n` at a time (the CLI is a node process each: the box has 2 cores). */
export async function limited<T, R>(items: readonly T[], n: number, f: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!, i);
    }
  }));
  return out;
}

/** An interval set's elements as [first, last] address pairs (numbers as BigInt), for range comparisons. */
export type Intervals = [bigint, bigint][];

interface NftIntervalElem {
  prefix?: { addr?: string; len?: number };
  range?: [string, string];
  elem?: { val?: unknown };
}

export function addressBig(text: string): bigint {
  const t = tryParseTarget(text);
  if (!t) throw new Error(`nft printed an address we cannot read: ${JSON.stringify(text)}`);
  return BigInt(`0x${t.start.toString('hex')}`);
}

function intervalOf(v: unknown, bits: number): [bigint, bigint] | undefined {
  if (typeof v === 'string') {
    const a = addressBig(v);
    return [a, a];
  }
  const e = v as NftIntervalElem;
  if (e?.elem) return intervalOf(e.elem.val, bits);
  if (e?.prefix?.addr !== undefined && e.prefix.len !== undefined) {
    const a = addressBig(e.prefix.addr);
    const size = 1n << BigInt(bits - e.prefix.len);
    return [a, a + size - 1n];
  }
  if (e?.range) return [addressBig(e.range[0]), addressBig(e.range[1])];
  return undefined;
}

/** Reads one interval set (the ranges: in_net4, out_net6, …) of Gatehouse's table by name. */
export async function readIntervalSet(gwNs: string, table: string, set: string, family: 4 | 6): Promise<Intervals> {
  const { stdout } = await nsExec(gwNs, 'nft', ['-j', 'list', 'set', 'inet', table, set], { timeoutMs: 10_000 });
  const doc = JSON.parse(stdout) as { nftables?: { set?: { elem?: unknown[] } }[] };
  const out: Intervals = [];
  for (const item of doc.nftables ?? []) {
    for (const e of item.set?.elem ?? []) {
      const iv = intervalOf(e, family === 4 ? 32 : 128);
      if (iv) out.push(iv);
    }
  }
  return out;
}
