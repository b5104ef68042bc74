import { Agent, request, type IncomingMessage } from 'node:http';

/**
 * The bouncer side of the LAPI benchmark: plain node:http, as a go-cs-bouncer would talk (keep-alive per
 * bouncer, X-Api-Key). These run inside the benchmark namespace (lapi-client-main.ts), where both servers
 * listen on 127.0.0.1.
 */

export interface StreamFetch {
  /** Request sent → last byte of the body, ms. */
  readonly ms: number;
  /** Request sent → response headers, ms (how long the server thought before answering). */
  readonly headersMs: number;
  readonly status: number;
  readonly bytes: number;
  /** Entries in `new` / `deleted` (null counts as 0); -1 when the body was not JSON. */
  readonly newCount: number;
  readonly deletedCount: number;
}

export interface LoadOptions {
  readonly baseUrl: string;
  /** One key per simulated bouncer. */
  readonly keys: readonly string[];
  /** Key for the startup streams measured while the polls run. */
  readonly startupKey: string;
  readonly rounds: number;
  /** Each bouncer polls once per period; their polls are spread evenly over it. */
  readonly periodMs: number;
  /** Startup streams at these offsets from the start of the load, ms. */
  readonly startupAtMs: readonly number[];
}

export interface PollSample {
  readonly bouncer: number;
  readonly round: number;
  readonly ms: number;
  readonly status: number;
  readonly newCount: number;
  readonly deletedCount: number;
  /** How late the poll started against its schedule (client-side lag), ms. */
  readonly lateMs: number;
}

export interface LoadResult {
  readonly polls: PollSample[];
  readonly startups: StreamFetch[];
  /** Whole load window, ms. */
  readonly wallMs: number;
}

/** Counts `new` and `deleted` of a stream answer; full parse, so a truncated or broken body shows as -1. */
export function countStream(body: string): { newCount: number; deletedCount: number } {
  try {
    const j = JSON.parse(body) as { new?: unknown; deleted?: unknown };
    const n = (v: unknown) => (Array.isArray(v) ? v.length : v === null || v === undefined ? 0 : -1);
    return { newCount: n(j.new), deletedCount: n(j.deleted) };
  } catch {
    return { newCount: -1, deletedCount: -1 };
  }
}

function get(url: string, key: string, agent: Agent | false): Promise<{ status: number; headersMs: number; ms: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const u = new URL(url);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'GET', agent, headers: { 'X-Api-Key': key, 'User-Agent': 'gatehouse-bench/lapi' } },
      (res: IncomingMessage) => {
        const headersMs = performance.now() - t0;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headersMs, ms: performance.now() - t0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(600_000, () => req.destroy(new Error(`timeout: GET ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** One `GET /v1/decisions/stream[?startup=true]` on a fresh connection, body read to the end, then counted. */
export async function fetchStream(baseUrl: string, key: string, startup: boolean, agent: Agent | false = false): Promise<StreamFetch> {
  const r = await get(`${baseUrl}/v1/decisions/stream${startup ? '?startup=true' : ''}`, key, agent);
  return { ms: r.ms, headersMs: r.headersMs, status: r.status, bytes: r.body.length, ...countStream(r.body.toString('utf8')) };
}

const sleepUntil = (t: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, t - performance.now())));

/** Every bouncer's first delta poll, a few at a time: sets its last pull, so the timed polls are deltas. */
export async function warmUp(baseUrl: string, keys: readonly string[], concurrency = 4): Promise<StreamFetch[]> {
  const out: StreamFetch[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < keys.length; i = next++) out[i] = await fetchStream(baseUrl, keys[i]!, false);
    }),
  );
  return out;
}

/**
 * `keys.length` bouncers × `rounds` delta polls, bouncer i polling at i·period/keys + round·period, each on
 * its own keep-alive connection; plus startup streams at `startupAtMs`. Polls never wait for each other.
 */
export async function pollLoad(o: LoadOptions): Promise<LoadResult> {
  const t0 = performance.now();
  const polls: PollSample[] = [];
  const bouncer = async (i: number): Promise<void> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let round = 0; round < o.rounds; round++) {
        const at = t0 + (i * o.periodMs) / o.keys.length + round * o.periodMs;
        await sleepUntil(at);
        const lateMs = performance.now() - at;
        const f = await fetchStream(o.baseUrl, o.keys[i]!, false, agent);
        polls.push({ bouncer: i, round, ms: f.ms, status: f.status, newCount: f.newCount, deletedCount: f.deletedCount, lateMs });
      }
    } finally {
      agent.destroy();
    }
  };
  // Bodies are counted after the load: parsing 13 MB (130 MB at 1M) mid-load would stall this event loop
  // and show up as poll latency that the server did not cause.
  const raw: { status: number; headersMs: number; ms: number; body: Buffer }[] = [];
  const startupRuns = (async () => {
    for (const off of o.startupAtMs) {
      await sleepUntil(t0 + off);
      raw.push(await get(`${o.baseUrl}/v1/decisions/stream?startup=true`, o.startupKey, false));
    }
  })();
  await Promise.all([...o.keys.map((_, i) => bouncer(i)), startupRuns]);
  const wallMs = performance.now() - t0;
  const startups = raw.map((r) => ({ ms: r.ms, headersMs: r.headersMs, status: r.status, bytes: r.body.length, ...countStream(r.body.toString('utf8')) }));
  return { polls, startups, wallMs };
}
