import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Direction } from '../decisions/types.js';
import { parseTarget } from '../net/ip.js';
import { isInterfaceName, parseListenAddress, parseMac } from './address.js';
import { parseDuration } from './duration.js';

/*
 * The YAML config, as one zod schema. Output keys stay snake_case exactly as written in YAML so that an
 * admin reading a log line or an error can grep the config for the same word. Durations come out as
 * milliseconds; paths come out absolute (resolved against the config file's folder).
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** enforce = drop; monitor = only record block events; off = no rules for that direction. */
export const FIREWALL_MODES = ['enforce', 'monitor', 'off'] as const;
export type FirewallMode = (typeof FIREWALL_MODES)[number];

export const FEED_TYPES = ['url', 'file', 'crowdsec'] as const;
export type FeedType = (typeof FEED_TYPES)[number];

export const LIST_FORMATS = ['plain', 'cidr', 'netset', 'spamhaus_drop', 'ipsum', 'crowdsec'] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

export const CROWDSEC_SCOPES = ['ip', 'range'] as const;
export type CrowdsecScope = (typeof CROWDSEC_SCOPES)[number];

export const MIRROR_FORMATS = ['plain_text', 'mikrotik', 'f5', 'juniper', 'json'] as const;
export type MirrorFormat = (typeof MIRROR_FORMATS)[number];

export const MIRROR_AUTHS = ['none', 'basic', 'ip_based'] as const;
export type MirrorAuth = (typeof MIRROR_AUTHS)[number];

const DIRECTION_VALUES = ['inbound', 'outbound', 'both'] as const satisfies readonly Direction[];

const FEED_NAME = /^[a-z0-9][a-z0-9_-]{0,40}$/;
const TABLE_NAME = /^[a-z][a-z0-9_]{0,30}$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
const MACHINE_ID = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export const DEFAULT_DATA_DIR = '/var/lib/gatehouse';

// ---------------------------------------------------------------------------------------------------------
// Field schemas

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A duration written as Go text ("30s", "1h30m", "7d"); bare numbers are refused because the unit is unknowable. */
function durationField(opts: { positive: boolean }) {
  return z.unknown().transform((v, ctx): number => {
    if (typeof v === 'number') {
      if (v === 0 && !opts.positive) return 0;
      ctx.issues.push({ code: 'custom', input: v, message: `a duration needs a unit: write "${v}s" for ${v} seconds, or "${v}m", "${v}h", "${v}d"` });
      return z.NEVER;
    }
    if (typeof v !== 'string') {
      ctx.issues.push({ code: 'custom', input: v, message: `expected a duration such as "30s" or "1h", got ${describe(v)}` });
      return z.NEVER;
    }
    let ms: number;
    try {
      ms = parseDuration(v);
    } catch (e) {
      ctx.issues.push({ code: 'custom', input: v, message: errorText(e) });
      return z.NEVER;
    }
    if (opts.positive && ms <= 0) {
      ctx.issues.push({ code: 'custom', input: v, message: `must be longer than zero, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return ms;
  });
}

const positiveDuration = () => durationField({ positive: true });

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
  return `${typeof v} ${String(v)}`;
}

const nonEmptyString = () => z.string().min(1, 'must not be empty');

/** A 64-hex sha256; a hash made only of digits (and maybe one "e") would be read by YAML as a number, hence the hint. */
const sha256Field = () =>
  z.unknown().transform((v, ctx): string => {
    if (typeof v === 'string' && SHA256_HEX.test(v)) return v.toLowerCase();
    const hint = typeof v === 'number' ? ' (YAML read it as a number: put the hash in quotes)' : '';
    ctx.issues.push({ code: 'custom', input: v, message: `expected a sha256 as 64 hex digits${hint}, got ${describe(v)}` });
    return z.NEVER;
  });

const listenField = () =>
  z.string().superRefine((v, ctx) => {
    try {
      parseListenAddress(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: errorText(e) });
    }
  });

/** IP or CIDR, canonicalised ("10.1.2.3/8" → "10.0.0.0/8") so later comparisons are plain string equality. */
const targetField = () =>
  z.string().transform((v, ctx): string => {
    try {
      return parseTarget(v).text;
    } catch (e) {
      ctx.issues.push({ code: 'custom', input: v, message: errorText(e) });
      return z.NEVER;
    }
  });

/**
 * An origin a watcher may be granted (lapi.machines[].delete_origins): an exact origin such as `manual` or
 * `feed:firehol`, a prefix ending in `*` such as `feed:*`, or `*` alone for every origin.
 */
const originPatternField = () =>
  z.string().superRefine((v, ctx) => {
    const star = v.indexOf('*');
    if (v.length === 0 || v.length > 128) ctx.addIssue({ code: 'custom', message: 'an origin is 1-128 characters' });
    else if (star >= 0 && star !== v.length - 1) ctx.addIssue({ code: 'custom', message: `"*" may only end an origin pattern ("feed:*", "*"), got ${describe(v)}` });
  });

const macField = () =>
  z.string().transform((v, ctx): string => {
    try {
      return parseMac(v);
    } catch (e) {
      ctx.issues.push({ code: 'custom', input: v, message: errorText(e) });
      return z.NEVER;
    }
  });

const interfaceField = () =>
  z.string().refine(isInterfaceName, {
    message: 'not a Linux interface name (1-15 characters from A-Z a-z 0-9 _ . @ -)',
  });

const httpUrlField = () =>
  z.string().superRefine((v, ctx) => {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: `not a URL: ${describe(v)}` });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `only http:// and https:// URLs are supported, got ${url.protocol}//` });
    }
  });

/**
 * Checks that must also run when a sibling field already failed: zod skips refinements after any error by
 * default, which would hide e.g. a duplicate feed name until every typo elsewhere was fixed. Such checks
 * see possibly half-parsed values, so they read them through `unknown`.
 */
const ALWAYS = { when: () => true };

function field(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>)[key] : undefined;
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Flags every repeat of a value (by a key function) at `path(i)`, naming where it first appeared. */
function flagDuplicates(
  items: unknown,
  keyOf: (item: unknown) => string | undefined,
  ctx: z.RefinementCtx,
  path: (i: number) => PropertyKey[],
  what: string,
  label: (i: number) => string,
): void {
  if (!Array.isArray(items)) return;
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    const key = keyOf(item);
    if (key === undefined) return;
    const seen = first.get(key);
    if (seen === undefined) first.set(key, i);
    else ctx.addIssue({ code: 'custom', path: path(i), message: `${what} ${JSON.stringify(key)} is already used by ${label(seen)}` });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Feed output types: a union on `type`, so consumers get `url`/`api_key` etc. only where they exist.

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
  readonly format: Exclude<ListFormat, 'crowdsec'>;
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

function feedSchema(resolvePath: (p: string) => string) {
  return z
    .strictObject({
      name: z.string().regex(FEED_NAME, 'feed names use a-z, 0-9, _ and -, start with a letter or digit, at most 41 characters'),
      type: z.enum(FEED_TYPES),
      url: httpUrlField().optional(),
      path: nonEmptyString().transform(resolvePath).optional(),
      format: z.enum(LIST_FORMATS).optional(),
      min_score: z.number().int().min(1).optional(),
      api_key: nonEmptyString().optional(),
      direction: z.enum(DIRECTION_VALUES).default('both'),
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

// ---------------------------------------------------------------------------------------------------------
// The whole file

/**
 * Builds the schema for a config file living in `baseDir` (relative paths resolve against it).
 * A function rather than a constant because path resolution is part of parsing.
 */
export function buildConfigSchema(baseDir: string) {
  const resolvePath = (p: string) => resolve(baseDir, p);
  const pathField = () => nonEmptyString().transform(resolvePath);

  const api = z
    .strictObject({
      socket: pathField().optional(),
      listen: listenField().optional(),
      token_sha256: sha256Field().optional(),
    })
    .superRefine((a, ctx) => {
      if (field(a, 'listen') !== undefined && field(a, 'token_sha256') === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['token_sha256'],
          message: 'required when api.listen is set: the sha256 of the bearer token (printf %s "$TOKEN" | sha256sum)',
        });
      }
    }, ALWAYS);

  const interfaces = z
    .strictObject({
      lan: z.array(interfaceField()).default([]),
      wan: z.array(interfaceField()).default([]),
    })
    .superRefine((i, ctx) => {
      const lan = stringList(field(i, 'lan'));
      const wan = stringList(field(i, 'wan'));
      wan.forEach((name, idx) => {
        if (lan.includes(name)) {
          ctx.addIssue({ code: 'custom', path: ['wan', idx], message: `${JSON.stringify(name)} is listed as both lan and wan` });
        }
      });
      for (const side of ['lan', 'wan'] as const) {
        flagDuplicates(field(i, side), (v) => (typeof v === 'string' ? v : undefined), ctx, (n) => [side, n], 'interface', (n) => `interfaces.${side}[${n}]`);
      }
    }, ALWAYS);

  const firewall = z.strictObject({
    inbound: z.enum(FIREWALL_MODES).default('enforce'),
    outbound: z.enum(FIREWALL_MODES).default('enforce'),
    table: z.string().regex(TABLE_NAME, 'nft table names here use a-z, 0-9 and _, start with a letter, at most 31 characters').default('gatehouse'),
    hit_poll_interval: positiveDuration().prefault('2s'),
    block_event_retention: positiveDuration().prefault('30d'),
    expire_interval: positiveDuration().prefault('10s'),
  });

  const clientName = z.strictObject({
    mac: macField(),
    name: z.string().min(1, 'must not be empty').max(63, 'at most 63 characters'),
  });
  const clients = z.strictObject({
    names: z
      .array(clientName)
      .default([])
      .superRefine((names, ctx) => {
        flagDuplicates(names, (n) => tryMac(field(n, 'mac')), ctx, (i) => [i, 'mac'], 'MAC', (i) => `clients.names[${i}]`);
      }, ALWAYS),
    dhcp_leases: pathField().optional(),
  });

  const feeds = z
    .array(feedSchema(resolvePath))
    .default([])
    .superRefine((list, ctx) => {
      flagDuplicates(list, (f) => stringOrUndefined(field(f, 'name')), ctx, (i) => [i, 'name'], 'feed name', (i) => `feeds[${i}]`);
    }, ALWAYS);

  const lapiMachine = z.strictObject({
    name: z.string().regex(MACHINE_ID, 'a machine id as given to `gatehouse machines add` (letters, digits and _.@-, at most 64 characters)'),
    /** Origins whose decisions this watcher may delete besides its own; "feed:*" = every feed, "*" = every decision. */
    delete_origins: z.array(originPatternField()).min(1, 'list at least one origin (e.g. manual, crowdsec, "lapi:*", "feed:*", "*")'),
  });

  const lapi = z.strictObject({
    listen: listenField().default('127.0.0.1:8081'),
    /** Absent = every watcher acts on its own decisions only (origin lapi:<machine>). */
    machines: z
      .array(lapiMachine)
      .optional()
      .superRefine((list, ctx) => {
        flagDuplicates(list, (m) => stringOrUndefined(field(m, 'name')), ctx, (i) => [i, 'name'], 'machine', (i) => `lapi.machines[${i}]`);
      }, ALWAYS),
    /** Absent = no IP restriction beyond authentication. */
    trusted_ips: z.array(targetField()).optional(),
    /** How alerts pushed by watchers become decisions (CrowdSec's default profile bans for 4h). */
    profile: z
      .strictObject({
        duration: positiveDuration().prefault('4h'),
        direction: z.enum(DIRECTION_VALUES).default('inbound'),
      })
      .prefault({}),
  });

  const mirrorEndpoint = z
    .strictObject({
      path: z.string().regex(/^\/[^\s?#]*$/, 'must start with / and contain no spaces, ? or #'),
      format: z.enum(MIRROR_FORMATS).default('plain_text'),
      auth: z.enum(MIRROR_AUTHS).default('none'),
      users: z.array(z.strictObject({ user: nonEmptyString(), password_sha256: sha256Field() })).optional(),
      trusted_ips: z.array(targetField()).optional(),
      /** Merge adjacent and overlapping entries into the fewest CIDRs (cs-blocklist-mirror's `aggregate: true`). */
      aggregate: z.boolean().default(false),
    })
    .superRefine((e, ctx) => {
      const auth = field(e, 'auth');
      const users = field(e, 'users');
      const trusted = field(e, 'trusted_ips');
      if (auth === 'basic' && (users === undefined || (Array.isArray(users) && users.length === 0))) {
        ctx.addIssue({ code: 'custom', path: ['users'], message: 'required (at least one user) when auth is basic' });
      }
      if (auth === 'ip_based' && (trusted === undefined || (Array.isArray(trusted) && trusted.length === 0))) {
        ctx.addIssue({ code: 'custom', path: ['trusted_ips'], message: 'required (at least one IP or CIDR) when auth is ip_based' });
      }
      if (auth !== 'basic' && users !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['users'], message: 'only used when auth is basic; remove it or set auth: basic' });
      }
      if (auth !== 'ip_based' && trusted !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['trusted_ips'], message: 'only used when auth is ip_based; remove it or set auth: ip_based' });
      }
    }, ALWAYS);

  const mirror = z.strictObject({
    listen: listenField().default('127.0.0.1:41412'),
    endpoints: z
      .array(mirrorEndpoint)
      .min(1, 'list at least one endpoint')
      .superRefine((list, ctx) => {
        flagDuplicates(list, (e) => stringOrUndefined(field(e, 'path')), ctx, (i) => [i, 'path'], 'path', (i) => `mirror.endpoints[${i}]`);
      }, ALWAYS),
  });

  return z
    .strictObject({
      data_dir: pathField().prefault(DEFAULT_DATA_DIR),
      log_level: z.enum(LOG_LEVELS).default('info'),
      api: api.prefault({}),
      interfaces: interfaces.prefault({}),
      firewall: firewall.prefault({}),
      clients: clients.prefault({}),
      feeds,
      lapi: lapi.optional(),
      mirror: mirror.optional(),
    })
    .superRefine((c, ctx) => {
      const fw = field(c, 'firewall');
      const on = field(fw, 'inbound') !== 'off' || field(fw, 'outbound') !== 'off';
      if (on) {
        const ifs = field(c, 'interfaces');
        for (const side of ['wan', 'lan'] as const) {
          const list = field(ifs, side);
          if (Array.isArray(list) && list.length === 0) {
            ctx.addIssue({
              code: 'custom',
              path: ['interfaces', side],
              message: `list at least one ${side.toUpperCase()} interface (the firewall needs it to tell inbound from outbound; set firewall.inbound and firewall.outbound to off to run without)`,
            });
          }
        }
      }
      // Two servers on one socket address would fail at start-up; say so now, naming both keys.
      const listeners: [string, unknown][] = [
        ['api', field(field(c, 'api'), 'listen')],
        ['lapi', field(field(c, 'lapi'), 'listen')],
        ['mirror', field(field(c, 'mirror'), 'listen')],
      ];
      const seen = new Map<string, string>();
      for (const [section, text] of listeners) {
        const key = listenKey(text);
        if (key === undefined) continue;
        const other = seen.get(key);
        if (other !== undefined) {
          ctx.addIssue({ code: 'custom', path: [section, 'listen'], message: `same address as ${other}.listen; give each server its own port` });
        } else seen.set(key, section);
      }
    }, ALWAYS)
    .transform((c) => ({ ...c, api: { ...c.api, socket: c.api.socket ?? join(c.data_dir, 'api.sock') } }));
}

function stringOrUndefined(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function tryMac(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    return parseMac(v);
  } catch {
    return undefined;
  }
}

function listenKey(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    const a = parseListenAddress(v);
    return a.port === 0 ? undefined : `${a.host === 'localhost' ? '127.0.0.1' : a.host}:${a.port}`;
  } catch {
    return undefined;
  }
}

export type ConfigSchema = ReturnType<typeof buildConfigSchema>;

/** The validated config: snake_case keys as in YAML, durations in ms, paths absolute, defaults filled in. */
export type GatehouseConfig = z.output<ConfigSchema>;
