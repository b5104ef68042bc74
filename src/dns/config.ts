import { z } from 'zod';
import { ALWAYS, durationField, field, flagDuplicates, listenField, listenKey, nonEmptyString, parseListenAddress, positiveDuration, type SectionFields } from '../config/index.js';
import { forwardDomainField, upstreamField } from './upstream/field.js';
import { dnsListArray, refineDnsLists } from './lists/config.js';

/*
 * The `dns:` section. The resolver listens on loopback by default (127.0.0.1:53 and [::1]:53): a
 * gateway that should answer its LAN lists its LAN addresses too (e.g. 192.168.1.1:53), because a
 * wildcard listener would also answer on the WAN side and make the gateway an open resolver.
 */

const NAME = /^[a-z0-9][a-z0-9_-]{0,40}$/;
const NAME_RULE = 'names use a-z, 0-9, _ and -, start with a letter or digit, at most 41 characters';

export const BLOCK_ANSWERS = ['nxdomain', 'null_ip'] as const;
export const ANSWER_CHECKS = ['enforce', 'monitor', 'off'] as const;
export const STRATEGIES = ['parallel_best', 'strict'] as const;
export const QUERY_LOG_MODES = ['full', 'anonymous', 'off'] as const;

/** A hostname (or domain suffix) as written in config: lower-cased, trailing dot dropped. */
const domainName = () =>
  z.string().transform((v, ctx): string => {
    const d = v.trim().toLowerCase().replace(/\.$/, '');
    if (d.length === 0 || d.length > 253 || !/^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/.test(d)) {
      ctx.issues.push({ code: 'custom', input: v, message: `not a domain name: ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return d;
  });

export type { DnsListConfig } from './lists/config.js';

/** Who a group's policy applies to: an IP, a CIDR, a MAC, or a client name from `clients.names` / DHCP. */
const groupSchema = z.strictObject({
  name: z.string().regex(NAME, `group ${NAME_RULE}`),
  clients: z.array(nonEmptyString()).default([]),
  /** Names of dns.blocklists; default: every blocklist. `[]` = no list blocking for this group. */
  blocklists: z.array(nonEmptyString()).optional(),
});

const forwardSchema = z.strictObject({
  domain: forwardDomainField(),
  upstream: z.union([upstreamField(), z.array(upstreamField()).min(1)]),
});

export const dnsSection = (f: SectionFields) =>
  z
    .strictObject({
      listen: z.array(listenField()).min(1, 'list at least one ADDRESS:PORT').default(['127.0.0.1:53', '[::1]:53']),
      upstreams: z.array(upstreamField()).min(1, 'list at least one upstream resolver, e.g. [9.9.9.9, 1.1.1.1]'),
      strategy: z.enum(STRATEGIES).default('parallel_best'),
      /** ms an upstream may take before the next is tried (and the client gets SERVFAIL when all failed). */
      upstream_timeout: positiveDuration().prefault('2s'),
      forward: z.array(forwardSchema).default([]),
      blocklists: dnsListArray(f),
      allowlists: dnsListArray(f),
      groups: z.array(groupSchema).default([]),
      block_answer: z.enum(BLOCK_ANSWERS).default('nxdomain'),
      block_ttl: durationField({ positive: true }).prefault('60s'),
      answer_check: z.enum(ANSWER_CHECKS).default('enforce'),
      rebinding_protection: z.boolean().default(true),
      /** Names that may answer with private/LAN addresses (subtree), e.g. a VPN provider's internal zone. */
      rebinding_allow: z.array(domainName()).default([]),
      query_log: z
        .strictObject({
          mode: z.enum(QUERY_LOG_MODES).default('full'),
          retention: positiveDuration().prefault('7d'),
          max_rows: z.number().int().min(1000).default(1_000_000),
        })
        .prefault({}),
      redirect_lan: z.boolean().default(false),
      cache: z
        .strictObject({
          size: z.number().int().min(0).default(10_000),
          max_bytes: z.number().int().min(0).default(64 * 1024 * 1024),
          min_ttl: durationField({ positive: false }).prefault('0s'),
          max_ttl: positiveDuration().prefault('1d'),
          negative_max_ttl: positiveDuration().prefault('1h'),
          prefetch: z.boolean().default(true),
        })
        .prefault({}),
      workers: z.number().int().min(1).max(16).optional(),
      /** Names on the LAN: `name.<local_domain>` answers with the device's addresses. */
      local_domain: domainName().default('lan'),
    })
    .superRefine((d, ctx) => {
      flagDuplicates(field(d, 'listen'), listenKey, ctx, (i) => ['listen', i], 'listen address', (i) => `dns.listen[${i}]`);
      refineDnsLists(d, ctx);
      // Redirected queries arrive at the LAN interface's own address: a loopback-only listener never sees them.
      if (field(d, 'redirect_lan') === true) {
        const hosts = (Array.isArray(field(d, 'listen')) ? (field(d, 'listen') as unknown[]) : ['127.0.0.1:53']).map((l) => {
          try {
            return typeof l === 'string' ? parseListenAddress(l).host : undefined;
          } catch {
            return undefined;
          }
        });
        if (hosts.every((h) => h === undefined || h === 'localhost' || h === '::1' || h.startsWith('127.'))) {
          ctx.addIssue({ code: 'custom', path: ['redirect_lan'], message: 'needs a dns.listen address the LAN can reach (the LAN address, or 0.0.0.0:53), not only loopback' });
        }
      }
    }, ALWAYS)
    .optional();

export type DnsConfig = NonNullable<z.output<ReturnType<typeof dnsSection>>>;

/** Workers by default: one per CPU, at most 4 (the daemon keeps a core's share for its own loop). */
export function workerCount(c: DnsConfig, cpus: number): number {
  return c.workers ?? Math.max(1, Math.min(4, cpus));
}
