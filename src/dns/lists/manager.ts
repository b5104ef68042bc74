import { checkRefresh, fetchFeed, FeedFetchError, type FetchOptions, type FetchState, type GuardInput, type LineSample } from '../../feeds/index.js';
import type { Job, Scheduler } from '../../scheduler/index.js';
import type { DnsListConfig } from './config.js';
import { DomainIndex, type DomainMatch, type ListMask } from './domain-index.js';
import { DomainListParser, parseDomainList, type ParsedDomainList } from './parse.js';
import { assignListIds, problemKey, type ListRef, type ListRole } from './policy.js';
import { asAllow, type RuleArrays } from './rules.js';

export interface DnsListsLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface DnsListsDeps {
  readonly scheduler: Scheduler;
  readonly log: DnsListsLog;
  /** Called with every newly built index (off the answer path): hand it to the resolver workers. */
  onIndex(index: DomainIndex, lists: readonly ListRef[]): void;
  /** Passed to every download (retries, backoff, size cap, a test's dispatcher…). */
  readonly fetchOptions?: Omit<FetchOptions, 'textSink'>;
  /**
   * false: the index is not kept here once onIndex has it (the daemon, whose workers answer from their own
   * copy: 40 MB less for 1M names); current() and explain() then see an empty index. Default true.
   */
  readonly retainIndex?: boolean;
}

export interface DnsListsConfig {
  readonly blocklists: readonly DnsListConfig[];
  readonly allowlists: readonly DnsListConfig[];
}

export interface DnsListStatus {
  readonly name: string;
  readonly role: ListRole;
  readonly id: number;
  readonly category: string;
  readonly format: DnsListConfig['format'];
  readonly type: DnsListConfig['type'];
  /** URL or path. */
  readonly source: string;
  /** Distinct names in force (from the last accepted download). */
  readonly entries: number;
  readonly blockRules: number;
  readonly allowRules: number;
  /** Lines of the last download that gave nothing, with samples (line, text, why). */
  readonly skipped: number;
  readonly skippedSamples: readonly LineSample[];
  /** Adblock rules DNS cannot express (modifiers, paths, cosmetic rules), with samples. */
  readonly unsupported: number;
  readonly unsupportedSamples: readonly LineSample[];
  readonly lastAttemptAt: number | null;
  /** Last time the list was confirmed current (accepted, or not modified). */
  readonly lastRefreshAt: number | null;
  /** Why the last refresh failed or was refused (the previous entries stay in force); null when it worked. */
  readonly lastError: string | null;
  readonly nextRunAt: number | null;
}

interface ListState {
  readonly ref: ListRef;
  readonly cfg: DnsListConfig;
  fetchState: FetchState;
  parsed: ParsedDomainList | undefined;
  rules: RuleArrays | undefined;
  lastAttemptAt: number | null;
  lastRefreshAt: number | null;
  lastError: string | null;
  job: Job | undefined;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/**
 * The daemon side of block/allow lists: downloads on a schedule (conditional GET, retries, size cap),
 * parses as the text streams in, refuses a refresh that looks broken (HTML error page, empty body, sudden
 * shrink) and keeps the list's previous entries, then rebuilds the merged DomainIndex and hands it on.
 */
export class DnsLists {
  readonly lists: readonly ListRef[];
  private readonly states: ListState[];
  private index = DomainIndex.empty();
  private rebuilding: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  /** Cancels downloads in progress at stop(): a shutdown must not wait out a slow mirror's timeout. */
  private readonly abort = new AbortController();

  constructor(cfg: DnsListsConfig, private readonly deps: DnsListsDeps) {
    const ids = assignListIds(cfg.blocklists, cfg.allowlists);
    if (!ids.ok) throw new Error(ids.problems.map((p) => `${problemKey(p)}: ${p.message}`).join('; '));
    this.lists = ids.lists;
    const cfgs = [...cfg.blocklists, ...cfg.allowlists];
    this.states = ids.lists.map((ref, i) => ({
      ref,
      cfg: cfgs[i]!,
      fetchState: {},
      parsed: undefined,
      rules: undefined,
      lastAttemptAt: null,
      lastRefreshAt: null,
      lastError: null,
      job: undefined,
    }));
  }

  /** Schedules every list: first download right away, then every `refresh` after the previous one ended. */
  start(): void {
    for (const s of this.states) {
      s.job ??= this.deps.scheduler.every(`refresh dns ${s.ref.role}list ${s.ref.name}`, s.cfg.refresh, () => this.refreshOne(s), { firstRunInMs: 0 });
    }
  }

  /** The index in force (empty until the first list loaded, and always when retainIndex is false). */
  current(): DomainIndex {
    return this.index;
  }

  /** Refreshes one list (or all) now; resolves when done and the index (if changed) was handed on. */
  async refresh(name?: string): Promise<DnsListStatus[]> {
    const targets = name === undefined ? this.states : this.states.filter((s) => s.ref.name === name);
    if (targets.length === 0) {
      throw new Error(`no DNS list named ${JSON.stringify(name)} (lists: ${this.states.map((s) => s.ref.name).join(', ') || 'none configured'})`);
    }
    await Promise.all(targets.map((s) => (s.job ? s.job.runNow() : this.refreshOne(s))));
    await this.rebuilding;
    return targets.map((s) => this.statusOf(s));
  }

  status(): DnsListStatus[] {
    return this.states.map((s) => this.statusOf(s));
  }

  /** Which list decides `name` for the lists in `mask` (default: all), by list name. */
  explain(name: string, mask: ListMask = 0xffffffff): DomainMatch & { listName?: string } {
    const m = this.index.match(name, mask >>> 0);
    return m.list === undefined ? m : { ...m, listName: this.lists[m.list]?.name };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.all(this.states.map((s) => s.job?.stop()));
    await this.rebuilding;
  }

  private statusOf(s: ListState): DnsListStatus {
    const p = s.parsed;
    return {
      name: s.ref.name,
      role: s.ref.role,
      id: s.ref.id,
      category: s.ref.category,
      format: s.cfg.format,
      type: s.cfg.type,
      source: s.cfg.type === 'url' ? s.cfg.url : s.cfg.path,
      entries: p?.names ?? 0,
      blockRules: s.ref.role === 'allow' ? 0 : (p?.blockRules ?? 0),
      allowRules: s.ref.role === 'allow' ? (p?.names ?? 0) : (p?.allowRules ?? 0),
      skipped: p?.skipped ?? 0,
      skippedSamples: p?.skippedSamples.slice(0, 5) ?? [],
      unsupported: p?.unsupported ?? 0,
      unsupportedSamples: p?.unsupportedSamples.slice(0, 5) ?? [],
      lastAttemptAt: s.lastAttemptAt,
      lastRefreshAt: s.lastRefreshAt,
      lastError: s.lastError,
      nextRunAt: s.job?.nextRunAt ?? null,
    };
  }

  private async refreshOne(s: ListState): Promise<void> {
    const { cfg, ref } = s;
    const subject = `${ref.role}list ${ref.name}`;
    const clock = this.deps.scheduler.clock;
    s.lastAttemptAt = clock.now();
    let parser: DomainListParser | undefined;
    let parsed: ParsedDomainList;
    let validators: FetchState;
    try {
      const spec = { name: cfg.name, type: cfg.type, timeout: cfg.timeout, ...(cfg.type === 'url' ? { url: cfg.url } : { path: cfg.path }) };
      const got = await fetchFeed(spec, s.fetchState, {
        ...this.deps.fetchOptions,
        signal: this.abort.signal,
        // Each attempt starts over with a fresh parser; the text goes straight into it as it arrives.
        textSink: () => (parser = new DomainListParser(cfg.format, { expectedNames: s.parsed?.names ?? 0 })),
      });
      if (got.status === 'not_modified') {
        s.lastRefreshAt = clock.now();
        s.lastError = null;
        return;
      }
      parsed = got.body !== undefined ? parseDomainList(got.body, cfg.format) : (parser ?? new DomainListParser(cfg.format)).end();
      validators = {
        ...(got.etag !== undefined ? { etag: got.etag } : {}),
        ...(got.lastModified !== undefined ? { lastModified: got.lastModified } : {}),
      };
    } catch (err) {
      const detail = err instanceof FeedFetchError ? err.detail : err instanceof Error ? err.message : String(err);
      s.lastError = `${subject}: ${detail}${s.parsed ? ', keeping the previous list' : ''}`;
      this.deps.log.warn({ list: ref.name }, s.lastError);
      return;
    }
    const verdict = checkRefresh(s.parsed?.names, guardInput(parsed), cfg.max_shrink, { subject });
    if (!verdict.accept) {
      // The validators stay the old ones, so the next refresh downloads again instead of hearing "not modified".
      s.lastError = verdict.reason ?? `${subject}: refused`;
      this.deps.log.warn({ list: ref.name }, s.lastError);
      return;
    }
    if (this.stopped) return;
    s.parsed = parsed;
    s.rules = ref.role === 'allow' ? asAllow(parsed.rules) : parsed.rules;
    s.fetchState = validators;
    s.lastRefreshAt = clock.now();
    s.lastError = null;
    const notes = [`${subject}: ${fmt(parsed.names)} names`];
    if (parsed.allowRules > 0 && ref.role === 'block') notes.push(`${fmt(parsed.allowRules)} exceptions`);
    if (parsed.skipped > 0) notes.push(`${fmt(parsed.skipped)} unreadable lines skipped`);
    if (parsed.unsupported > 0) notes.push(`${fmt(parsed.unsupported)} rules DNS cannot apply left out`);
    if (parsed.duplicates > 0) notes.push(`${fmt(parsed.duplicates)} duplicates`);
    this.deps.log.info({ list: ref.name, names: parsed.names, skipped: parsed.skipped }, notes.join(', '));
    await this.rebuild();
  }

  /** Coalesces: lists that finish while a build runs are all in the next one. */
  private rebuild(): Promise<void> {
    this.dirty = true;
    this.rebuilding ??= (async () => {
      try {
        while (this.dirty && !this.stopped) {
          this.dirty = false;
          const sources = this.states.flatMap((s) => (s.rules ? [{ id: s.ref.id, rules: s.rules }] : []));
          const index = await DomainIndex.build(sources);
          if (this.deps.retainIndex !== false) this.index = index;
          try {
            this.deps.onIndex(index, this.lists);
          } catch (err) {
            this.deps.log.warn({}, `dns lists: handing on the new index failed: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      } finally {
        this.rebuilding = undefined;
      }
    })();
    return this.rebuilding;
  }
}

/** The guard's view of a domain list: names count as entries. */
export function guardInput(p: ParsedDomainList): GuardInput {
  return {
    format: p.format,
    entries: { length: p.names },
    lines: p.lines,
    // Adblock URL rules are well-formed, just not for DNS: only malformed lines count as garbage.
    dataLines: p.dataLines - p.unsupported,
    comments: p.comments,
    blank: p.blank,
    skipped: p.skipped,
    skippedSamples: p.skippedSamples,
    duplicates: p.duplicates,
    excludedSpecial: 0,
    belowMinScore: 0,
  };
}
