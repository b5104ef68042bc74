/**
 * A hostile client for load tests: opens many TCP (or Unix-socket) connections, sends a partial HTTP
 * request on each and keeps it open, trickling a header line now and then like a slowloris. Runs as its
 * own process (under `prlimit --nofile=…`, in a lab namespace) so its sockets do not count against the
 * test runner's open-file limit. Reports JSON lines on stdout; exits when stdin closes.
 *
 * argv[2]: HolderSpec as JSON.
 */
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

export interface HolderSpec {
  /** TCP host/port, or a Unix socket path. */
  readonly target: { readonly host: string; readonly port: number } | { readonly path: string };
  readonly count: number;
  /** Source addresses to spread TCP connections over (round robin); default the kernel's choice. */
  readonly sources?: readonly string[];
  /** Connection attempts in flight at once. */
  readonly concurrency?: number;
  /** Sent right after connecting; default a request line and one header, with no blank line ending it. */
  readonly partial?: string;
  /** Sends one more header line on every open connection this often (0 = never). */
  readonly trickleMs?: number;
}

export interface HolderReport {
  readonly attempted: number;
  /** Connected and still open. */
  readonly open: number;
  /** Connected, then closed by the server. */
  readonly closed: number;
  /** Never connected (refused, reset, timed out). */
  readonly failed: number;
  readonly settled: boolean;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as HolderSpec;
const partial = spec.partial ?? 'GET /v1/decisions HTTP/1.1\r\nHost: gatehouse\r\n';
const live = new Set<Socket>();
let attempted = 0;
let closed = 0;
let failed = 0;
let settled = false;
let stopping = false;

const report = (): void => {
  const r: HolderReport = { attempted, open: live.size, closed, failed, settled };
  process.stdout.write(`${JSON.stringify(r)}\n`);
};

function one(i: number): Promise<void> {
  return new Promise((done) => {
    const t = spec.target;
    const src = spec.sources?.length ? spec.sources[i % spec.sources.length] : undefined;
    const s = 'path' in t ? connect({ path: t.path }) : connect({ host: t.host, port: t.port, ...(src ? { localAddress: src } : {}) });
    let connected = false;
    const timer = setTimeout(() => s.destroy(), 10_000);
    s.once('connect', () => {
      connected = true;
      clearTimeout(timer);
      live.add(s);
      s.write(partial);
      done();
    });
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.once('close', () => {
      clearTimeout(timer);
      if (connected) {
        live.delete(s);
        if (!stopping) closed++;
      } else {
        failed++;
        done();
      }
    });
  });
}

async function main(): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < spec.count && !stopping) {
      const i = next++;
      attempted++;
      await one(i);
    }
  };
  const ticker = setInterval(report, 1000);
  const trickle =
    spec.trickleMs && spec.trickleMs > 0
      ? setInterval(() => {
          for (const s of live) s.write(`X-Slow: ${Date.now()}\r\n`);
        }, spec.trickleMs)
      : undefined;
  createInterface({ input: process.stdin }).on('close', () => {
    stopping = true;
    clearInterval(ticker);
    if (trickle) clearInterval(trickle);
    for (const s of live) s.destroy();
    process.exit(0);
  });
  await Promise.all(Array.from({ length: spec.concurrency ?? 400 }, worker));
  settled = true;
  report();
}

void main();
