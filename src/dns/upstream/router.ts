/**
 * Conditional forwarding (`dns.forward: [{domain: lan, upstream: 192.168.1.1}]`): a query for the domain or any
 * name under it goes to that domain's pool; the longest matching domain wins; everything else goes to the
 * default pool.
 */
import { normalizeDomain } from './spec.js';
import type { Upstream } from './types.js';
import { UpstreamPool, type PoolOptions, type Resolved, type UpstreamHealth } from './pool.js';

export interface ForwardRule {
  domain: string;
  upstream: string | readonly string[];
}

export interface RouterConfig extends PoolOptions {
  upstreams: readonly (string | Upstream)[];
  forward?: readonly ForwardRule[];
}

export class UpstreamRouter {
  private readonly byDomain = new Map<string, UpstreamPool>();

  constructor(
    readonly defaultPool: UpstreamPool,
    forwards: readonly { domain: string; pool: UpstreamPool }[] = [],
  ) {
    for (const f of forwards) {
      const d = normalizeDomain(f.domain);
      if (d === undefined) throw new Error(`forward: "${f.domain}" is not a domain name`);
      if (this.byDomain.has(d)) throw new Error(`forward: "${d}" is listed twice`);
      this.byDomain.set(d, f.pool);
    }
  }

  static fromConfig(c: RouterConfig): UpstreamRouter {
    const def = new UpstreamPool(c.upstreams, c);
    const fw = (c.forward ?? []).map((f) => ({
      domain: f.domain,
      pool: new UpstreamPool(typeof f.upstream === 'string' ? [f.upstream] : f.upstream, c),
    }));
    return new UpstreamRouter(def, fw);
  }

  /** `name`: lower-case, no trailing dot (as the wire parser gives it). */
  poolFor(name: string): UpstreamPool {
    if (this.byDomain.size === 0) return this.defaultPool;
    let n = name;
    for (;;) {
      const p = this.byDomain.get(n);
      if (p !== undefined) return p;
      const dot = n.indexOf('.');
      if (dot < 0) return this.defaultPool;
      n = n.slice(dot + 1);
    }
  }

  /** The forwarded domain that applies to `name`, or undefined for the default pool (for the query log). */
  forwardedDomain(name: string): string | undefined {
    if (this.byDomain.size === 0) return undefined;
    let n = name;
    for (;;) {
      if (this.byDomain.has(n)) return n;
      const dot = n.indexOf('.');
      if (dot < 0) return undefined;
      n = n.slice(dot + 1);
    }
  }

  resolve(msg: Uint8Array, name: string): Promise<Resolved> {
    return this.poolFor(name).resolve(msg, name);
  }

  health(): { domain?: string; upstreams: UpstreamHealth[] }[] {
    const out: { domain?: string; upstreams: UpstreamHealth[] }[] = [{ upstreams: this.defaultPool.health() }];
    for (const [domain, pool] of this.byDomain) out.push({ domain, upstreams: pool.health() });
    return out;
  }

  close(): void {
    this.defaultPool.close();
    for (const p of this.byDomain.values()) p.close();
  }
}
