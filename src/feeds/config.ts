import { z } from 'zod';
import { ALWAYS, field, flagDuplicates, httpUrlField, nonEmptyString, positiveDuration, stringOrUndefined, type SectionFields } from '../config/index.js';
import { DIRECTIONS, type Direction } from '../decisions/index.js';
import { CROWDSEC_SCOPES, FEED_FORMATS, FEED_TYPES, type CrowdsecScope, type ListFormat } from './types.js';

/*
 * The `feeds:` section: a list whose items are a union on `type`, so consumers get `url`/`api_key` etc.
 * only where they exist. Feeds of type crowdsec are run by the crowdsec module; their fields live here
 * because they are items of the same list.
 */

const FEED_NAME = /^[a-z0-9][a-z0-9_-]{0,40}$/;

interface FeedCommon {
  readonly name: string;
  readonly direction: Direction;
  /** ms between fetches (crowdsec: between stream polls). */
  readonly refresh: number;
  /** ms; a fetch slower than this fails and keeps the previous list. */
  readonly timeout: number;
  /** Share (0-1) by which one refresh may shrink the list; a bigger drop is refused as a likely broken download. */
  readonly max_shrink: number;
}

export interface ListFeedCommon extends FeedCommon {
  readonly format: ListFormat;
  /** ipsum: minimum number of lists an IP must be on; 1 for other formats. */
  readonly min_score: number;
  /**
   * ms without a successful refresh after which `feeds list` calls the list stale (default 2× refresh).
   * Entries stay enforced regardless: a feed that stops answering never unblocks its list.
   */
  readonly duration: number;
}

export interface UrlFeedConfig extends ListFeedCommon {
  readonly type: 'url';
  readonly url: string;
}

export interface FileFeedConfig extends ListFeedCommon {
  readonly type: 'file';
  /** Absolute path. */
  readonly path: string;
}

export interface CrowdsecFeedConfig extends FeedCommon {
  readonly type: 'crowdsec';
  readonly format: 'crowdsec';
  /** LAPI base URL, e.g. http://127.0.0.1:8080/ */
  readonly url: string;
  readonly api_key: string;
  /** ms; overrides the durations the LAPI sends; undefined = keep the LAPI's. */
  readonly duration: number | undefined;
  readonly scopes: readonly CrowdsecScope[];
  /** Empty = decisions from every origin. */
  readonly origins: readonly string[];
  readonly scenarios_containing: readonly string[];
  readonly scenarios_not_containing: readonly string[];
}

export type FeedConfig = UrlFeedConfig | FileFeedConfig | CrowdsecFeedConfig;

const DEFAULT_LIST_REFRESH_MS = 3_600_000;
const DEFAULT_CROWDSEC_REFRESH_MS = 10_000;

const CROWDSEC_ONLY = ['api_key', 'scopes', 'origins', 'scenarios_containing', 'scenarios_not_containing'] as const;

function feedSchema(f: SectionFields) {
  return z
    .strictObject({
      name: z.string().regex(FEED_NAME, 'feed names use a-z, 0-9, _ and -, start with a letter or digit, at most 41 characters'),
      type: z.enum(FEED_TYPES),
      url: httpUrlField().optional(),
      path: f.path().optional(),
      format: z.enum(FEED_FORMATS).optional(),
      min_score: z.number().int().min(1).optional(),
      api_key: nonEmptyString().optional(),
      direction: z.enum(DIRECTIONS).default('both'),
      refresh: positiveDuration().optional(),
      duration: positiveDuration().optional(),
      max_shrink: z.number().min(0).max(1).default(0.5),
      timeout: positiveDuration().prefault('30s'),
      scopes: z.array(z.enum(CROWDSEC_SCOPES)).min(1).optional(),
      origins: z.array(nonEmptyString()).optional(),
      scenarios_containing: z.array(nonEmptyString()).optional(),
      scenarios_not_containing: z.array(nonEmptyString()).optional(),
    })
    .superRefine((f, ctx) => {
      const type = field(f, 'type');
      if (typeof type !== 'string' || !(FEED_TYPES as readonly string[]).includes(type)) return;
      const has = (key: string) => field(f, key) !== undefined;
      const format = field(f, 'format');
      const need = (key: string, why: string) => ctx.addIssue({ code: 'custom', path: [key], message: `required ${why}` });
      const refuse = (key: string, why: string) => ctx.addIssue({ code: 'custom', path: [key], message: `not used ${why}; remove it` });
      if (type === 'url' || type === 'crowdsec') {
        if (!has('url')) need('url', type === 'url' ? 'for a url feed' : 'for a crowdsec feed (the LAPI base URL)');
        if (has('path')) refuse('path', `by a ${type} feed (path is for type file)`);
      } else {
        if (!has('path')) need('path', 'for a file feed');
        if (has('url')) refuse('url', 'by a file feed (url is for types url and crowdsec)');
      }
      if (type === 'crowdsec') {
        if (!has('api_key')) need('api_key', 'for a crowdsec feed (a bouncer key: cscli bouncers add gatehouse)');
        if (format !== undefined && format !== 'crowdsec') refuse('format', 'by a crowdsec feed (it always speaks the LAPI format)');
        if (has('min_score')) refuse('min_score', 'by a crowdsec feed (min_score is for format ipsum)');
      } else {
        for (const key of CROWDSEC_ONLY) if (has(key)) refuse(key, `by a ${type} feed (only by type crowdsec)`);
        if (format === 'crowdsec') ctx.addIssue({ code: 'custom', path: ['format'], message: 'format crowdsec needs type crowdsec' });
        if (has('min_score') && format !== 'ipsum') refuse('min_score', 'unless format is ipsum');
      }
    }, ALWAYS)
    .transform((f): FeedConfig => {
      const common = { name: f.name, direction: f.direction, timeout: f.timeout, max_shrink: f.max_shrink };
      if (f.type === 'crowdsec') {
        return {
          ...common,
          type: 'crowdsec',
          format: 'crowdsec',
          url: f.url ?? '',
          api_key: f.api_key ?? '',
          refresh: f.refresh ?? DEFAULT_CROWDSEC_REFRESH_MS,
          duration: f.duration,
          scopes: f.scopes ?? ['ip', 'range'],
          origins: f.origins ?? [],
          scenarios_containing: f.scenarios_containing ?? [],
          scenarios_not_containing: f.scenarios_not_containing ?? [],
        };
      }
      const refresh = f.refresh ?? DEFAULT_LIST_REFRESH_MS;
      const format = f.format === undefined || f.format === 'crowdsec' ? 'plain' : f.format;
      const list = { ...common, refresh, format, min_score: f.min_score ?? 1, duration: f.duration ?? 2 * refresh };
      return f.type === 'url' ? { ...list, type: 'url', url: f.url ?? '' } : { ...list, type: 'file', path: f.path ?? '' };
    });
}

/** The `feeds:` section. */
export const feedsSection = (f: SectionFields) =>
  z
    .array(feedSchema(f))
    .default([])
    .superRefine((list, ctx) => {
      flagDuplicates(list, (x) => stringOrUndefined(field(x, 'name')), ctx, (i) => [i, 'name'], 'feed name', (i) => `feeds[${i}]`);
    }, ALWAYS);
