import { diffEntries, EntryIndex, type FeedDiff } from './diff.js';
import { fetchFeed, FeedFetchError, type FetchOptions, type FetchResult, type FetchState } from './fetch.js';
import { checkRefresh, type GuardOptions, type GuardVerdict } from './guard.js';
import { ListParser, parseList } from './parse.js';
import type { Target } from '../net/ip.js';
import { LIST_FORMATS, type FeedSpec, type ListFormat, type ParseOptions, type ParsedList } from './types.js';

/** What the runner hands over when a feed's list changed and passed the guard. */
export interface FeedChange {
  readonly feed: FeedSpec;
  readonly parsed: ParsedList;
  readonly diff: FeedDiff;
}

export interface FeedRunnerDeps {
  /** Canonical texts currently loaded from this feed (the store's view), read once. */
  current(feed: FeedSpec): Iterable<string> | Promise<Iterable<string>>;
  /** Makes the change take effect (store + firewall); a throw makes the refresh 'failed' and keeps the old validators. */
  apply(change: FeedChange): Promise<void>;
  fetch?(spec: FeedSpec, state: FetchState, opts: FetchOptions): Promise<FetchResult>;
  parse?(text: string, format: ListFormat, opts: ParseOptions): ParsedList;
  guard?(previousCount: number, parsed: ParsedList, maxShrink: number, opts: GuardOptions): GuardVerdict;
  /** Passed to every fetch (retries, progress, cancel signal…). */
  fetchOptions?: FetchOptions;
  /** Keep private/special ranges (default: left out). */
  keepSpecial?: boolean;
  /** Asked once per download: what else to leave out (the gateway's LAN networks and own addresses). */
  exclude?(): ((t: Target) => string | undefined) | undefined;
}

interface Base {
  readonly feed: string;
  /** Validators to remember for the next refresh: new ones only after a successful apply. */
  readonly state: FetchState;
  /** One line for the log or the dashboard. */
  readonly message: string;
}

export type RefreshReport =
  | (Base & { readonly outcome: 'applied'; readonly entries: number; readonly added: number; readonly removed: number; readonly unchanged: number; readonly parsed: ParsedList })
  | (Base & { readonly outcome: 'not_modified' })
  | (Base & { readonly outcome: 'refused'; readonly parsed: ParsedList })
  | (Base & { readonly outcome: 'failed'; readonly error: Error });

const fmt = (n: number): string => n.toLocaleString('en-US');

/**
 * One refresh of one feed: fetch → parse → guard → diff → apply. Owns no schedule and no storage;
 * the daemon calls refresh() on its timer. Concurrent refreshes of the same feed share one run.
 */
export class FeedRunner {
  private readonly inFlight = new Map<string, Promise<RefreshReport>>();

  constructor(private readonly deps: FeedRunnerDeps) {}

  refresh(spec: FeedSpec, state: FetchState = {}): Promise<RefreshReport> {
    const running = this.inFlight.get(spec.name);
    if (running) return running;
    const run = this.run(spec, state).finally(() => this.inFlight.delete(spec.name));
    this.inFlight.set(spec.name, run);
    return run;
  }

  private async run(spec: FeedSpec, state: FetchState): Promise<RefreshReport> {
    const feed = spec.name;
    const format = spec.format;
    if (!isListFormat(format)) {
      const error = new Error(`feed ${feed}: format ${format} is not a list format (known: ${LIST_FORMATS.join(', ')})`);
      return { outcome: 'failed', feed, state, message: error.message, error };
    }
    let got: { parsed: ParsedList; validators: FetchState } | 'not_modified';
    try {
      got = await this.download(spec, state, format);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const message = err instanceof FeedFetchError ? err.message : `feed ${feed}: ${error.message}`;
      return { outcome: 'failed', feed, state, message, error };
    }
    if (got === 'not_modified') {
      return { outcome: 'not_modified', feed, state, message: `feed ${feed}: not modified` };
    }
    const { parsed, validators } = got;
    try {
      const { verdict, diff } = await this.decide(spec, parsed);
      if (!diff) {
        return { outcome: 'refused', feed, state, message: verdict.reason ?? `feed ${feed}: refused`, parsed };
      }
      await this.deps.apply({ feed: spec, parsed, diff });
      return {
        outcome: 'applied',
        feed,
        state: validators,
        message: summary(feed, parsed, diff, verdict.reason),
        entries: parsed.entries.length,
        added: diff.added.length,
        removed: diff.removed.length,
        unchanged: diff.unchanged,
        parsed,
      };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      return { outcome: 'failed', feed, state, message: `feed ${feed}: could not apply the new list: ${error.message}`, error };
    }
  }

  /** Guard and diff; the index of the current entries is garbage when this returns, before the apply. */
  private async decide(spec: FeedSpec, parsed: ParsedList): Promise<{ verdict: GuardVerdict; diff?: FeedDiff }> {
    const current = EntryIndex.of(await this.deps.current(spec));
    const verdict = (this.deps.guard ?? checkRefresh)(current.size, parsed, spec.maxShrink, { feed: spec.name });
    if (!verdict.accept) return { verdict };
    return { verdict, diff: diffEntries(current, parsed.entries) };
  }

  /**
   * Fetch and parse together: the text is parsed as it arrives, so a million-line list is never held whole
   * (a fetch that hands back a body, as tests' do, is parsed in a function of its own for the same reason).
   */
  private async download(spec: FeedSpec, state: FetchState, format: ListFormat): Promise<{ parsed: ParsedList; validators: FetchState } | 'not_modified'> {
    let parseOpts: ParseOptions = {
      ...(spec.minScore !== undefined ? { minScore: spec.minScore } : {}),
      keepSpecial: this.deps.keepSpecial ?? false,
    };
    const exclude = this.deps.exclude?.();
    if (exclude) parseOpts = { ...parseOpts, exclude };
    // The text goes straight into the parser as it arrives, unless a test swapped the parser out.
    let parser: ListParser | undefined;
    const fetchOptions: FetchOptions = {
      ...this.deps.fetchOptions,
      ...(this.deps.parse ? {} : { textSink: () => (parser = new ListParser(format, parseOpts)) }),
    };
    const fetched: FetchResult = await (this.deps.fetch ?? fetchFeed)(spec, state, fetchOptions);
    if (fetched.status === 'not_modified') return 'not_modified';
    const parsed =
      fetched.body !== undefined
        ? (this.deps.parse ?? parseList)(fetched.body, format, parseOpts)
        : (parser ?? new ListParser(format, parseOpts)).end();
    const validators: FetchState = {
      ...(fetched.etag !== undefined ? { etag: fetched.etag } : {}),
      ...(fetched.lastModified !== undefined ? { lastModified: fetched.lastModified } : {}),
    };
    return { parsed, validators };
  }
}

function isListFormat(f: string): f is ListFormat {
  return (LIST_FORMATS as readonly string[]).includes(f);
}

function summary(feed: string, p: ParsedList, d: FeedDiff, note: string | undefined): string {
  const parts = [`feed ${feed}: ${fmt(p.entries.length)} entries (+${fmt(d.added.length)} -${fmt(d.removed.length)})`];
  if (p.excludedSpecial > 0) parts.push(`${fmt(p.excludedSpecial)} private/special ranges left out`);
  if (p.belowMinScore > 0) parts.push(`${fmt(p.belowMinScore)} below minimum score`);
  if (p.skipped > 0) parts.push(`${fmt(p.skipped)} unreadable lines skipped`);
  if (p.entries.length === 0 && note !== undefined) parts.push(note.replace(/^feed \S+ /, ''));
  return parts.join(', ');
}
