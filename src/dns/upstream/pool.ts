/**
 * A set of upstreams and the strategy to use them.
 *
 * parallel_best (default, as Blocky): two healthy upstreams picked at random get the query at once; the first
 * usable answer wins. strict: one at a time, in the configured order. Either way an upstream that errors or
 * times out is benched (skipped while others are healthy) for benchMs, doubling per consecutive failure up to
 * benchMaxMs; when every upstream is benched they are still tried (parallel_best: the one back soonest first;
 * strict: in order), so a server that comes back is used again at the latest when its bench expires. SERVFAIL/REFUSED answers lose the race
 * (the next upstream is asked) but do not bench: a SERVFAIL is usually the queried domain's fault. When nothing
 * better came back, such an answer is returned; when nothing came back at all, AllUpstreamsFailed is thrown
 * within the budget (timeoutMs) and the caller answers SERVFAIL.
 */
import { performance } from 'node:perf_hooks';
import { createUpstream } from './create.js';
import type { TransportOptions, Upstream } from './types.js';
import { RCODE_REFUSED, RCODE_SERVFAIL, rcodeOf, UpstreamError } from './wire.js';

export type UpstreamStrategy = 'parallel_best' | 'strict';
export const UPSTREAM_STRATEGIES: readonly UpstreamStrategy[] = ['parallel_best', 'strict'];

export interface PoolOptions extends TransportOptions {
  strategy: UpstreamStrategy;
  /** Total time for one resolve() across every upstream tried (ms). Default 2500. */
  timeoutMs: number;
  /** Time one upstream gets for one attempt (ms). Default: half the budget, at least 500 ms. */
  attemptTimeoutMs?: number;
  /** First bench after a failure (ms), doubled per consecutive failure. Default 2000. */
  benchMs?: number;
  /** Longest bench (ms). Default 60000. */
  benchMaxMs?: number;
}

export interface UpstreamHealth {
  name: string;
  ok: boolean;
  benchedUntil?: number;
  latencyMs: number;
  errors: number;
  queries: number;
  consecutiveFailures: number;
  lastError?: string;
  connections: number;
  mismatched: number;
}

export interface Resolved {
  reply: Buffer;
  upstream: string;
  /** From the call to the answer, in ms (fractional). */
  ms: number;
}

export class AllUpstreamsFailed extends Error {
  override name = 'AllUpstreamsFailed';
  constructor(
    readonly forName: string,
    readonly attempts: readonly string[],
  ) {
    super(`no upstream answered for ${forName || '.'}${attempts.length ? `: ${attempts.join('; ')}` : ''}`);
  }
}

interface State {
  up: Upstream;
  benchedUntil: number;
  consecutive: number;
  errors: number;
  queries: number;
  ewmaMs: number; // -1 until the first answer
  lastError?: string;
}

interface RoundResult {
  good?: { reply: Buffer; st: State };
  poor?: { reply: Buffer; st: State }; // SERVFAIL / REFUSED
}

const EWMA_ALPHA = 0.2;

export class UpstreamPool {
  private readonly states: State[];
  private readonly strategy: UpstreamStrategy;
  private readonly budgetMs: number;
  private readonly attemptMs: number;
  private readonly benchMs: number;
  private readonly benchMaxMs: number;
  private closed = false;

  constructor(specs: readonly (string | Upstream)[], o: PoolOptions) {
    if (specs.length === 0) throw new Error('an upstream pool needs at least one upstream');
    this.states = specs.map((s) => ({
      up: typeof s === 'string' ? createUpstream(s, o) : s,
      benchedUntil: 0, consecutive: 0, errors: 0, queries: 0, ewmaMs: -1,
    }));
    this.strategy = o.strategy;
    this.budgetMs = o.timeoutMs > 0 ? o.timeoutMs : 2500;
    this.attemptMs = Math.min(this.budgetMs, o.attemptTimeoutMs ?? Math.max(500, Math.floor(this.budgetMs / 2)));
    this.benchMs = o.benchMs ?? 2000;
    this.benchMaxMs = o.benchMaxMs ?? 60_000;
  }

  get names(): string[] {
    return this.states.map((s) => s.up.name);
  }

  async resolve(msg: Uint8Array, forName: string): Promise<Resolved> {
    if (this.states.length === 1) return this.resolveOne(this.states[0]!, msg, forName);
    const t0 = performance.now();
    const deadline = Date.now() + this.budgetMs;
    const tried: boolean[] = new Array<boolean>(this.states.length).fill(false);
    const problems: string[] = [];
    let poor: RoundResult['poor'];
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) break;
      const picks = this.strategy === 'strict' ? this.pickStrict(tried) : this.pickBest(tried);
      if (picks.length === 0) break;
      const r = await this.round(picks, msg, Math.min(this.attemptMs, left), problems);
      if (r.good) return { reply: r.good.reply, upstream: r.good.st.up.name, ms: performance.now() - t0 };
      if (r.poor && (poor === undefined || rcodeOf(poor.reply) !== RCODE_SERVFAIL)) poor = r.poor;
    }
    if (poor) return { reply: poor.reply, upstream: poor.st.up.name, ms: performance.now() - t0 };
    throw new AllUpstreamsFailed(forName, problems);
  }

  /**
   * One upstream: what resolve() does with one (one attempt; SERVFAIL/REFUSED returned as they are, having no
   * better answer to wait for) without the rounds' bookkeeping — arrays, a Promise and two closures per query.
   */
  private async resolveOne(st: State, msg: Uint8Array, forName: string): Promise<Resolved> {
    const t0 = performance.now();
    if (this.closed) throw new AllUpstreamsFailed(forName, []);
    st.queries++;
    let reply: Buffer;
    try {
      reply = await st.up.exchange(msg, this.attemptMs);
    } catch (e) {
      this.failed(st, e);
      throw new AllUpstreamsFailed(forName, [e instanceof Error ? e.message : String(e)]);
    }
    const ms = performance.now() - t0;
    this.succeeded(st, ms);
    return { reply, upstream: st.up.name, ms };
  }

  /** Sends to every pick at once; settles with the first usable answer, or when all have settled. */
  private round(picks: State[], msg: Uint8Array, timeoutMs: number, problems: string[]): Promise<RoundResult> {
    return new Promise<RoundResult>((done) => {
      let pending = picks.length;
      let settled = false;
      const out: RoundResult = {};
      for (const st of picks) {
        st.queries++;
        const t = performance.now();
        st.up.exchange(msg, timeoutMs).then(
          (reply) => {
            this.succeeded(st, performance.now() - t);
            if (settled) return;
            const rc = rcodeOf(reply);
            if (rc === RCODE_SERVFAIL || rc === RCODE_REFUSED) {
              problems.push(`${st.up.name}: ${rc === RCODE_SERVFAIL ? 'SERVFAIL' : 'REFUSED'}`);
              if (out.poor === undefined || rc === RCODE_SERVFAIL) out.poor = { reply, st };
              if (--pending === 0) done(out);
            } else {
              settled = true;
              out.good = { reply, st };
              done(out);
            }
          },
          (e: unknown) => {
            this.failed(st, e);
            if (settled) return;
            problems.push(e instanceof Error ? e.message : String(e));
            if (--pending === 0) done(out);
          },
        );
      }
    });
  }

  private succeeded(st: State, ms: number): void {
    st.consecutive = 0;
    st.benchedUntil = 0;
    st.ewmaMs = st.ewmaMs < 0 ? ms : st.ewmaMs + EWMA_ALPHA * (ms - st.ewmaMs);
  }

  private failed(st: State, e: unknown): void {
    if (this.closed) return;
    if (e instanceof UpstreamError && e.kind === 'protocol' && /not a query/.test(e.message)) return; // our input, not their fault
    st.errors++;
    st.consecutive++;
    st.lastError = e instanceof Error ? e.message : String(e);
    const bench = Math.min(this.benchMaxMs, this.benchMs * 2 ** Math.min(20, st.consecutive - 1));
    st.benchedUntil = Date.now() + bench;
  }

  private pickBest(tried: boolean[]): State[] {
    const now = Date.now();
    const healthy: number[] = [];
    for (let i = 0; i < this.states.length; i++) if (!tried[i] && this.states[i]!.benchedUntil <= now) healthy.push(i);
    let chosen: number[];
    if (healthy.length > 2) {
      const a = Math.floor(Math.random() * healthy.length);
      let b = Math.floor(Math.random() * (healthy.length - 1));
      if (b >= a) b++;
      chosen = [healthy[a]!, healthy[b]!];
    } else if (healthy.length === 2) {
      // Whichever is written first gets a head start: take turns so both stay measured and used.
      chosen = Math.random() < 0.5 ? healthy : [healthy[1]!, healthy[0]!];
    } else if (healthy.length > 0) chosen = healthy;
    else chosen = this.benchedByExpiry(tried).slice(0, 2);
    for (const i of chosen) tried[i] = true;
    return chosen.map((i) => this.states[i]!);
  }

  private pickStrict(tried: boolean[]): State[] {
    const now = Date.now();
    for (let i = 0; i < this.states.length; i++) {
      if (!tried[i] && this.states[i]!.benchedUntil <= now) {
        tried[i] = true;
        return [this.states[i]!];
      }
    }
    // Everything left is benched: still in the configured order (strict means "this one first").
    const i = tried.indexOf(false);
    if (i < 0) return [];
    tried[i] = true;
    return [this.states[i]!];
  }

  /** Untried upstreams, the one back soonest first (stable: ties keep the configured order). */
  private benchedByExpiry(tried: boolean[]): number[] {
    const idx: number[] = [];
    for (let i = 0; i < this.states.length; i++) if (!tried[i]) idx.push(i);
    return idx.sort((a, b) => this.states[a]!.benchedUntil - this.states[b]!.benchedUntil || a - b);
  }

  health(now = Date.now()): UpstreamHealth[] {
    return this.states.map((st) => {
      const t = st.up.stats();
      const h: UpstreamHealth = {
        name: st.up.name,
        ok: st.benchedUntil <= now,
        latencyMs: st.ewmaMs < 0 ? 0 : Math.round(st.ewmaMs * 100) / 100,
        errors: st.errors,
        queries: st.queries,
        consecutiveFailures: st.consecutive,
        connections: t.connections,
        mismatched: t.mismatched,
      };
      if (st.benchedUntil > now) h.benchedUntil = st.benchedUntil;
      if (st.lastError !== undefined) h.lastError = st.lastError;
      return h;
    });
  }

  close(): void {
    this.closed = true;
    for (const st of this.states) st.up.close();
  }
}
