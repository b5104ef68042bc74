/** zod fields for the config layer: `dns.upstreams[]`, `dns.forward[].upstream`, `dns.forward[].domain`. */
import { z } from 'zod';
import { normalizeDomain, parseUpstreamSpec } from './spec.js';

/** An upstream spec, canonicalised ("9.9.9.9" → "9.9.9.9:53") so duplicates compare equal. */
export const upstreamField = () =>
  z.string().transform((v, ctx): string => {
    try {
      return parseUpstreamSpec(v).text;
    } catch (e) {
      ctx.issues.push({ code: 'custom', input: v, message: e instanceof Error ? e.message : String(e) });
      return z.NEVER;
    }
  });

/** A forwarded domain ("lan", "168.192.in-addr.arpa"), lower-case, no trailing dot. */
export const forwardDomainField = () =>
  z.string().transform((v, ctx): string => {
    const d = normalizeDomain(v);
    if (d === undefined) {
      ctx.issues.push({ code: 'custom', input: v, message: `"${v}" is not a domain name (labels of letters, digits, "-" and "_", e.g. "lan" or "168.192.in-addr.arpa")` });
      return z.NEVER;
    }
    return d;
  });
