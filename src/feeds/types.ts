import type { Direction } from '../decisions/index.js';
import type { TargetList } from './target-list.js';
import type { Target } from '../net/ip.js';

/** List formats this module parses. `crowdsec` feeds speak the LAPI and are handled by src/crowdsec. */
export const LIST_FORMATS = ['plain', 'cidr', 'netset', 'spamhaus_drop', 'ipsum'] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

/** What `format:` accepts: the list formats, and `crowdsec` for feeds that speak the LAPI. */
export const FEED_FORMATS = [...LIST_FORMATS, 'crowdsec'] as const;
export type FeedFormat = (typeof FEED_FORMATS)[number];

export const FEED_TYPES = ['url', 'file', 'crowdsec'] as const;
export type FeedType = (typeof FEED_TYPES)[number];

/** Decision scopes a crowdsec feed asks its LAPI for (CrowdSec's own default is both). */
export const CROWDSEC_SCOPES = ['ip', 'range'] as const;
export type CrowdsecScope = (typeof CROWDSEC_SCOPES)[number];

/** What this module needs to know about one configured feed (the lead maps config items onto it). */
export interface FeedSpec {
  readonly name: string;
  readonly type: FeedType;
  readonly url?: string;
  readonly path?: string;
  readonly format: FeedFormat;
  /** ipsum only: keep IPs listed on at least this many lists. */
  readonly minScore?: number;
  readonly direction: Direction;
  /** Milliseconds between refreshes (used by the scheduler, not here). */
  readonly refresh: number;
  /** Milliseconds a decision from this feed lives; undefined = until the feed drops it. */
  readonly duration?: number;
  /** Largest share (0..1) the list may shrink by in one refresh before it is refused. */
  readonly maxShrink: number;
  /** Milliseconds one fetch attempt may take. */
  readonly timeout: number;
}

export interface ParseOptions {
  /** ipsum: minimum number of source lists; lower-scored lines are counted in `belowMinScore`. Default 1. */
  readonly minScore?: number;
  /** Keep private/loopback/link-local/multicast/... entries instead of excluding them. Default false. */
  readonly keepSpecial?: boolean;
  /** How many skipped/excluded lines to keep as samples. Default 10. */
  readonly sampleLimit?: number;
  /** Why an entry outside special space must still be left out (the gateway's LAN networks and own addresses). */
  readonly exclude?: (t: Target) => string | undefined;
}

/** One line the parser did not turn into an entry, for messages like "line 17: 'foo' is not an IP address". */
export interface LineSample {
  /** 1-based line number. */
  readonly line: number;
  /** The line text, cut to 120 characters. */
  readonly text: string;
  readonly why: string;
}

/** Facts a list states about itself in its comments, when it does. */
export interface ListHeader {
  /** FireHOL "Entries: 6612 subnets", Spamhaus JSON metadata "records". */
  declaredEntries?: number;
  /** FireHOL "This File Date", Spamhaus "Last-Modified", IPsum "Last update", JSON metadata timestamp (ISO). */
  date?: string;
}

/** How a list parser counted the lines it read (IP lists and DNS domain lists alike). */
export interface LineCounts {
  readonly lines: number;
  /** Lines that carried data (everything except comments and blank lines). */
  readonly dataLines: number;
  readonly comments: number;
  readonly blank: number;
  /** Lines that could not be read; never thrown. */
  readonly skipped: number;
  readonly skippedSamples: LineSample[];
}

/**
 * Result of parsing a list. Every line is counted exactly once:
 * lines = entries.length + duplicates + excludedSpecial + belowMinScore + skipped + comments + blank.
 */
export interface ParsedList extends LineCounts {
  readonly format: ListFormat;
  /** Valid targets, deduplicated by canonical text (first one wins): IPv4 in file order, then the rest in file order. */
  readonly entries: TargetList;
  readonly duplicates: number;
  /** Entries inside private/loopback/link-local/multicast/unspecified/broadcast/CGNAT space (kept or not). */
  readonly special: number;
  /** Special entries left out of `entries` (0 with keepSpecial). */
  readonly excludedSpecial: number;
  readonly excludedSamples: LineSample[];
  /** ipsum lines below minScore. */
  readonly belowMinScore: number;
  readonly header: ListHeader;
}
