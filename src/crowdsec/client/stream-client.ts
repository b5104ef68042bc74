import { request, type Dispatcher } from 'undici';
import type { Direction, NewDecision } from '../../decisions/index.js';
import { createScheduler, type Job, type RunResult, type Scheduler } from '../../scheduler/index.js';
import { decodeStream, LapiResponseError, type DecodeCounts } from './decode.js';

/** What the client hands to its consumer after each successful poll that changed something. */
export type LapiUpdate =
  /** Everything the LAPI holds now: replace all decisions of this origin with these. */
  | { readonly kind: 'full'; readonly decisions: NewDecision[] }
  /** Changes since the previous update: remove `deleted` values first, then add/refresh `added`. */
  | { readonly kind: 'delta'; readonly added: NewDecision[]; readonly deleted: string[] };

export interface LapiStreamClientOptions {
  /** LAPI base URL, e.g. http://127.0.0.1:8080 (a path prefix is kept). */
  readonly url: string;
  readonly apiKey: string;
  /** Default ['ip', 'range'] (the LAPI default too); other scopes would be skipped anyway. */
  readonly scopes?: readonly string[];
  readonly origins?: readonly string[];
  readonly scenariosContaining?: readonly string[];
  readonly scenariosNotContaining?: readonly string[];
  /** Decision types to keep; default ['ban']. */
  readonly types?: readonly string[];
  readonly intervalMs: number;
  /** Sent as User-Agent; the LAPI shows it as the bouncer's type/version ("gatehouse/0.1.0"). */
  readonly userAgent: string;
  readonly direction?: Direction;
  /** Origin stamped on produced decisions; default 'crowdsec'. */
  readonly origin?: string;
  readonly onUpdate: (u: LapiUpdate) => void | Promise<void>;
  readonly onError?: (err: Error) => void;
  /** Per-request limit for headers and for the gap between body chunks; default 30 s. */
  readonly requestTimeoutMs?: number;
  /** First retry delay after an error, doubled up to backoffMaxMs; defaults 1 s and 60 s. */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  readonly dispatcher?: Dispatcher;
  /** Runs the poll loop (and gives the time); default a scheduler of its own on the system clock. */
  readonly scheduler?: Scheduler;
  /** Name of the poll job in the scheduler. */
  readonly jobName?: string;
}

export interface LapiClientStats {
  polls: number;
  fullSyncs: number;
  errors: number;
  consecutiveErrors: number;
  /** Cumulative skip counts over all polls. */
  skipped: DecodeCounts;
  lastError: string | undefined;
  lastSuccessAt: number | undefined;
  /** Active decisions the client currently holds. */
  held: number;
}

/** A non-2xx answer from the LAPI; `status` 403 means the API key was refused. */
export class LapiHttpError extends Error {
  override name = 'LapiHttpError';
  constructor(readonly status: number, readonly body: string, url: string) {
    super(status === 403
      ? `CrowdSec LAPI refused the API key (403 ${body.slice(0, 100)}) at ${url}: check the key (cscli bouncers add)`
      : `CrowdSec LAPI answered HTTP ${status} at ${url}: ${body.slice(0, 200)}`);
  }
}

interface Held {
  readonly decision: NewDecision;
  readonly expiresAt: number;
}

/**
 * Pulls decisions from a CrowdSec LAPI like a stream bouncer: first `startup=true` (full), then deltas every
 * `intervalMs`. On any error it keeps what it holds (the consumer keeps enforcing), backs off, and resyncs with
 * `startup=true` once the LAPI answers again: a delta after a failure could miss changes (the LAPI moves its
 * per-bouncer `last_pull` after writing a response we may never have read).
 */
export class LapiStreamClient {
  private readonly held = new Map<string, Held>();
  private needFull = true;
  private job: Job | undefined;
  private readonly scheduler: Scheduler;
  private abort: AbortController | undefined;
  private readonly stats_: LapiClientStats = {
    polls: 0, fullSyncs: 0, errors: 0, consecutiveErrors: 0,
    skipped: { malformed: 0, otherScope: 0, otherType: 0, expiredInNew: 0 },
    lastError: undefined, lastSuccessAt: undefined, held: 0,
  };

  constructor(private readonly opts: LapiStreamClientOptions) {
    if (!(opts.intervalMs > 0)) throw new RangeError('intervalMs must be > 0');
    if (!opts.apiKey) throw new Error('CrowdSec LAPI client needs an API key');
    new URL(opts.url); // throws a clear TypeError on a bad URL, at construction rather than at the first poll
    // Failures never reach the scheduler's log: tick() counts them and reports them through onError.
    this.scheduler = opts.scheduler ?? createScheduler({ log: { error() {} } });
  }

  get stats(): Readonly<LapiClientStats> {
    return { ...this.stats_, skipped: { ...this.stats_.skipped }, held: this.held.size };
  }

  /** Decisions held now (after local expiry), e.g. for a status page. */
  current(now = this.scheduler.clock.now()): NewDecision[] {
    const out: NewDecision[] = [];
    for (const h of this.held.values()) {
      if (h.expiresAt > now) out.push({ ...h.decision, durationSec: Math.max(1, Math.ceil((h.expiresAt - now) / 1000)) });
    }
    return out;
  }

  start(): void {
    if (this.job) return;
    this.job = this.scheduler.every(this.opts.jobName ?? `poll CrowdSec LAPI ${this.opts.url}`, this.opts.intervalMs, () => this.tick(), { firstRunInMs: 0 });
  }

  /** Stops polling and aborts a request in flight; held state is kept (a later start() resyncs in full). */
  async stop(): Promise<void> {
    const job = this.job;
    this.job = undefined;
    const stopped = job?.stop();
    this.abort?.abort();
    await stopped;
    this.needFull = true;
  }

  /**
   * A poll now, in turn with the scheduled ones (never two at once); resolves when it is over, whether it
   * succeeded or not (errors go where the loop's go). Before start(), the same as pollOnce.
   */
  async pollNow(): Promise<void> {
    if (this.job) await this.job.runNow();
    else await this.pollOnce();
  }

  /** Makes the next poll a `startup=true` full resync. */
  requestResync(): void {
    this.needFull = true;
  }

  /** One poll now (used by start's loop; callable directly in tests). Rejects on error, state unchanged. */
  async pollOnce(): Promise<LapiUpdate | undefined> {
    const full = this.needFull;
    this.abort = new AbortController();
    const body = await this.fetchStream(full, this.abort.signal);
    const decoded = decodeStream(body, {
      ...(this.opts.types ? { types: this.opts.types } : {}),
      ...(this.opts.direction ? { direction: this.opts.direction } : {}),
      ...(this.opts.origin ? { origin: this.opts.origin } : {}),
    });
    for (const k of Object.keys(decoded.counts) as (keyof DecodeCounts)[]) this.stats_.skipped[k] += decoded.counts[k];
    const now = this.scheduler.clock.now();
    const hold = (d: NewDecision): Held => ({ decision: d, expiresAt: now + (d.durationSec ?? 0) * 1000 });

    let update: LapiUpdate | undefined;
    if (full) {
      // Startup `deleted` lists every expired decision still in the LAPI db: history, not changes. Ignore it.
      const decisions = [...decoded.added.values()];
      update = { kind: 'full', decisions };
      await this.opts.onUpdate(update);
      this.held.clear();
      for (const d of decisions) this.held.set(d.value, hold(d));
      this.needFull = false;
      this.stats_.fullSyncs++;
    } else {
      // Deletions repeat for ~2 s on the LAPI side and startup history may name values we never held: pass on
      // only values we hold, so the consumer sees each removal once.
      const deleted = [...decoded.deleted].filter((v) => this.held.has(v));
      const added = [...decoded.added.values()];
      if (deleted.length > 0 || added.length > 0) {
        update = { kind: 'delta', added, deleted };
        try {
          await this.opts.onUpdate(update);
        } catch (err) {
          this.needFull = true; // the consumer may have applied half of it: start over from a full picture
          throw err;
        }
      }
      for (const v of deleted) this.held.delete(v);
      for (const d of added) this.held.set(d.value, hold(d));
    }
    this.stats_.polls++;
    this.stats_.lastSuccessAt = now;
    this.stats_.consecutiveErrors = 0;
    return update;
  }

  private streamUrl(startup: boolean): string {
    const base = this.opts.url.endsWith('/') ? this.opts.url : `${this.opts.url}/`;
    const u = new URL('v1/decisions/stream', base);
    u.searchParams.set('startup', startup ? 'true' : 'false');
    const list = (k: string, v: readonly string[] | undefined) => {
      if (v && v.length > 0) u.searchParams.set(k, v.join(','));
    };
    list('scopes', this.opts.scopes ?? ['ip', 'range']);
    list('origins', this.opts.origins);
    list('scenarios_containing', this.opts.scenariosContaining);
    list('scenarios_not_containing', this.opts.scenariosNotContaining);
    return u.toString();
  }

  private async fetchStream(startup: boolean, signal: AbortSignal): Promise<unknown> {
    const url = this.streamUrl(startup);
    const timeout = this.opts.requestTimeoutMs ?? 30_000;
    const res = await request(url, {
      method: 'GET',
      headers: { 'x-api-key': this.opts.apiKey, 'user-agent': this.opts.userAgent, accept: 'application/json' },
      signal,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      ...(this.opts.dispatcher ? { dispatcher: this.opts.dispatcher } : {}),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new LapiHttpError(res.statusCode, text.trim(), url);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new LapiResponseError(`CrowdSec LAPI sent invalid JSON (${text.length} bytes) at ${url}`);
    }
  }

  /** One poll of the loop: the next comes one interval later, or after a growing back-off when it failed. */
  private async tick(): Promise<RunResult> {
    try {
      await this.pollOnce();
      return undefined;
    } catch (err) {
      if (!this.job) return undefined; // aborted by stop()
      const e = err instanceof Error ? err : new Error(String(err));
      this.needFull = true;
      this.stats_.errors++;
      this.stats_.consecutiveErrors++;
      this.stats_.lastError = e.message;
      const initial = this.opts.backoffInitialMs ?? 1000;
      const max = this.opts.backoffMaxMs ?? 60_000;
      try {
        this.opts.onError?.(e);
      } catch {
        // A failing error callback must not stop the loop.
      }
      return { nextRunInMs: Math.min(max, initial * 2 ** Math.min(20, this.stats_.consecutiveErrors - 1)) };
    }
  }
}
