import { z } from 'zod';
import { parseTarget } from '../net/ip.js';
import { isInterfaceName, parseListenAddress, parseMac } from '../net/address.js';
import { parseDuration } from './duration.js';

/*
 * The field schemas config sections are written with. Each module's section (its folder's config.ts)
 * builds on these, so every section reports problems in the same words; `compose.ts` joins the sections
 * into the file schema. Output keys stay snake_case as written in YAML, durations come out as
 * milliseconds, paths absolute (resolved against the config file's folder, see SectionFields.path).
 */

/** What a section builder gets besides these helpers: fields that depend on where the config file lives. */
export interface SectionFields {
  /** A non-empty path, resolved against the config file's folder. */
  path(): z.ZodType<string, unknown>;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A duration written as Go text ("30s", "1h30m", "7d"); bare numbers are refused because the unit is unknowable. */
export function durationField(opts: { positive: boolean }) {
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

export const positiveDuration = () => durationField({ positive: true });

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
  return `${typeof v} ${String(v)}`;
}

export const nonEmptyString = () => z.string().min(1, 'must not be empty');

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** A 64-hex sha256; a hash made only of digits (and maybe one "e") would be read by YAML as a number, hence the hint. */
export const sha256Field = () =>
  z.unknown().transform((v, ctx): string => {
    if (typeof v === 'string' && SHA256_HEX.test(v)) return v.toLowerCase();
    const hint = typeof v === 'number' ? ' (YAML read it as a number: put the hash in quotes)' : '';
    ctx.issues.push({ code: 'custom', input: v, message: `expected a sha256 as 64 hex digits${hint}, got ${describe(v)}` });
    return z.NEVER;
  });

export const listenField = () =>
  z.string().superRefine((v, ctx) => {
    try {
      parseListenAddress(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: errorText(e) });
    }
  });

/** IP or CIDR, canonicalised ("10.1.2.3/8" → "10.0.0.0/8") so later comparisons are plain string equality. */
export const targetField = () =>
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
export const originPatternField = () =>
  z.string().superRefine((v, ctx) => {
    const star = v.indexOf('*');
    if (v.length === 0 || v.length > 128) ctx.addIssue({ code: 'custom', message: 'an origin is 1-128 characters' });
    else if (star >= 0 && star !== v.length - 1) ctx.addIssue({ code: 'custom', message: `"*" may only end an origin pattern ("feed:*", "*"), got ${describe(v)}` });
  });

export const macField = () =>
  z.string().transform((v, ctx): string => {
    try {
      return parseMac(v);
    } catch (e) {
      ctx.issues.push({ code: 'custom', input: v, message: errorText(e) });
      return z.NEVER;
    }
  });

export const interfaceField = () =>
  z.string().refine(isInterfaceName, {
    message: 'not a Linux interface name (1-15 characters from A-Z a-z 0-9 _ . @ -)',
  });

export const httpUrlField = () =>
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
export const ALWAYS = { when: () => true };

export function field(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>)[key] : undefined;
}

export function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Flags every repeat of a value (by a key function) at `path(i)`, naming where it first appeared. */
export function flagDuplicates(
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

export function stringOrUndefined(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function tryMac(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    return parseMac(v);
  } catch {
    return undefined;
  }
}

export function listenKey(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    const a = parseListenAddress(v);
    return a.port === 0 ? undefined : `${a.host === 'localhost' ? '127.0.0.1' : a.host}:${a.port}`;
  } catch {
    return undefined;
  }
}
