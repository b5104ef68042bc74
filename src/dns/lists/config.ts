import { z } from 'zod';
import { ALWAYS, field, flagDuplicates, httpUrlField, positiveDuration, stringList, stringOrUndefined, type SectionFields } from '../../config/index.js';
import { MAX_LISTS } from './domain-index.js';
import { DOMAIN_LIST_FORMATS, type DomainListFormat } from './formats.js';

/*
 * The items of `dns.blocklists` and `dns.allowlists`, for the `dns:` section (src/dns/config.ts) to embed:
 *
 *   blocklists:
 *     - name: stevenblack
 *       type: url                 # or file (then path: instead of url:)
 *       url: https://raw.githubusercontent.com/StevenBlack/hosts/master/hosts
 *       format: hosts             # hosts (exact names) | domains (name + subdomains) | adblock (||name^)
 *       refresh: 24h
 *       category: ads             # ads (default) | security | any word; the optout group keeps security
 *
 * The cross-checks that need the whole section (names unique across both lists, at most 32 lists, group
 * list names that exist) are in refineDnsLists, which the section's superRefine calls.
 */

const LIST_NAME = /^[a-z0-9][a-z0-9_-]{0,40}$/;
const CATEGORY = /^[a-z][a-z0-9_-]{0,30}$/;
const DEFAULT_REFRESH = '24h';

interface DnsListCommon {
  readonly name: string;
  readonly format: DomainListFormat;
  /** ms between refreshes. */
  readonly refresh: number;
  /** ms one download may take. */
  readonly timeout: number;
  /** Share (0-1) one refresh may shrink the list by; a bigger drop is refused as a likely broken download. */
  readonly max_shrink: number;
  readonly category: string;
}

export interface UrlDnsListConfig extends DnsListCommon {
  readonly type: 'url';
  readonly url: string;
}

export interface FileDnsListConfig extends DnsListCommon {
  readonly type: 'file';
  /** Absolute. */
  readonly path: string;
}

export type DnsListConfig = UrlDnsListConfig | FileDnsListConfig;

export const DNS_LIST_TYPES = ['url', 'file'] as const;

export function dnsListSchema(f: SectionFields) {
  return z
    .strictObject({
      name: z.string().regex(LIST_NAME, 'list names use a-z, 0-9, _ and -, start with a letter or digit, at most 41 characters'),
      type: z.enum(DNS_LIST_TYPES),
      url: httpUrlField().optional(),
      path: f.path().optional(),
      format: z.enum(DOMAIN_LIST_FORMATS).default('hosts'),
      refresh: positiveDuration().prefault(DEFAULT_REFRESH),
      timeout: positiveDuration().prefault('60s'),
      max_shrink: z.number().min(0).max(1).default(0.5),
      category: z.string().regex(CATEGORY, 'a category is one word: a-z, 0-9, _ and -, e.g. ads or security').default('ads'),
    })
    .superRefine((v, ctx) => {
      const type = field(v, 'type');
      const has = (key: string) => field(v, key) !== undefined;
      if (type === 'url') {
        if (!has('url')) ctx.addIssue({ code: 'custom', path: ['url'], message: 'required for a url list' });
        if (has('path')) ctx.addIssue({ code: 'custom', path: ['path'], message: 'not used by a url list (path is for type file); remove it' });
      } else if (type === 'file') {
        if (!has('path')) ctx.addIssue({ code: 'custom', path: ['path'], message: 'required for a file list' });
        if (has('url')) ctx.addIssue({ code: 'custom', path: ['url'], message: 'not used by a file list (url is for type url); remove it' });
      }
    }, ALWAYS)
    .transform((v): DnsListConfig => {
      const common = { name: v.name, format: v.format, refresh: v.refresh, timeout: v.timeout, max_shrink: v.max_shrink, category: v.category };
      return v.type === 'url' ? { ...common, type: 'url', url: v.url ?? '' } : { ...common, type: 'file', path: v.path ?? '' };
    });
}

/** `dns.blocklists` or `dns.allowlists`. */
export const dnsListArray = (f: SectionFields) => z.array(dnsListSchema(f)).default([]);

/**
 * Checks across the `dns:` section, for its superRefine (run with ALWAYS: values may be half-parsed):
 * list names unique across blocklists and allowlists, at most 32 lists, and every name in
 * `groups[i].blocklists` a configured blocklist.
 */
export function refineDnsLists(section: unknown, ctx: z.RefinementCtx): void {
  const block = arrayField(section, 'blocklists');
  const allow = arrayField(section, 'allowlists');
  const all = [...block.map((x, i) => ({ x, path: ['blocklists', i] })), ...allow.map((x, i) => ({ x, path: ['allowlists', i] }))];
  flagDuplicates(
    all.map((e) => e.x),
    (x) => stringOrUndefined(field(x, 'name')),
    ctx,
    (i) => [...(all[i]?.path ?? []), 'name'],
    'list name',
    (i) => `${all[i]?.path[0]}[${all[i]?.path[1]}]`,
  );
  if (all.length > MAX_LISTS) {
    ctx.addIssue({ code: 'custom', path: [allow.length > 0 ? 'allowlists' : 'blocklists'], message: `at most ${MAX_LISTS} lists in all (blocklists and allowlists together), got ${all.length}` });
  }
  const blockNames = [...new Set(block.map((x) => stringOrUndefined(field(x, 'name'))).filter((n): n is string => n !== undefined))];
  const allowNames = new Set(allow.map((x) => stringOrUndefined(field(x, 'name'))));
  arrayField(section, 'groups').forEach((g, gi) => {
    stringList(field(g, 'blocklists')).forEach((name, li) => {
      if (blockNames.includes(name)) return;
      const message = allowNames.has(name)
        ? `${JSON.stringify(name)} is an allowlist; allowlists apply to every group, list only blocklists here`
        : `no blocklist named ${JSON.stringify(name)}${blockNames.length > 0 ? ` (blocklists: ${blockNames.join(', ')})` : ' (no blocklists are configured)'}`;
      ctx.addIssue({ code: 'custom', path: ['groups', gi, 'blocklists', li], message });
    });
  });
}

function arrayField(obj: unknown, key: string): unknown[] {
  const v = field(obj, key);
  return Array.isArray(v) ? v : [];
}
