import { createHash, timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { covers, parseTarget, tryParseTarget, type Target } from '../../net/ip.js';
import type { ValueOrderSource } from './value-order.js';
import { isMirrorFormat, renderMirrorChunks, type MirrorFormat, type MirrorItem, type MirrorOptions } from './render.js';

export interface MirrorUser {
  readonly user: string;
  /** Hex SHA-256 of the password, so the config file holds no clear-text password. */
  readonly password_sha256: string;
}

export interface MirrorEndpointConfig {
  readonly path: string;
  readonly format: MirrorFormat;
  readonly auth: 'none' | 'basic' | 'ip_based';
  readonly users?: readonly MirrorUser[];
  /** IPs or CIDRs allowed with auth ip_based. */
  readonly trusted_ips?: readonly string[];
  /** Serve merged CIDRs (cs-blocklist-mirror's `aggregate: true`). */
  readonly aggregate?: boolean;
}

export interface MirrorDeps {
  readonly decisions: ValueOrderSource;
  readonly endpoints: readonly MirrorEndpointConfig[];
  readonly now?: () => number;
}

export class MirrorConfigError extends Error {
  override name = 'MirrorConfigError';
}

const REALM = 'Basic realm="crowdsec-blocklist-mirror"';

interface PreparedEndpoint {
  readonly cfg: MirrorEndpointConfig;
  readonly trusted: readonly Target[];
  readonly users: ReadonlyMap<string, Buffer>;
}

/** Validates endpoint configs up front: a typo in a CIDR or hash must fail at startup, not at the first request. */
export function prepareEndpoints(endpoints: readonly MirrorEndpointConfig[]): PreparedEndpoint[] {
  const seen = new Set<string>();
  return endpoints.map((cfg) => {
    const where = `blocklist mirror endpoint ${JSON.stringify(cfg.path)}`;
    if (!cfg.path.startsWith('/')) throw new MirrorConfigError(`${where}: path must start with "/"`);
    if (seen.has(cfg.path)) throw new MirrorConfigError(`${where}: path used twice`);
    seen.add(cfg.path);
    if (!isMirrorFormat(cfg.format)) throw new MirrorConfigError(`${where}: unknown format ${JSON.stringify(cfg.format)}`);
    const trusted = (cfg.trusted_ips ?? []).map((t) => {
      try {
        return parseTarget(t);
      } catch (err) {
        throw new MirrorConfigError(`${where}: trusted_ips: ${(err as Error).message}`);
      }
    });
    const users = new Map<string, Buffer>();
    for (const u of cfg.users ?? []) {
      if (!/^[0-9a-fA-F]{64}$/.test(u.password_sha256)) {
        throw new MirrorConfigError(`${where}: password_sha256 of user ${JSON.stringify(u.user)} must be 64 hex digits (sha256sum of the password)`);
      }
      users.set(u.user, Buffer.from(u.password_sha256.toLowerCase(), 'hex'));
    }
    if (cfg.auth === 'basic' && users.size === 0) throw new MirrorConfigError(`${where}: auth basic needs at least one user`);
    if (cfg.auth === 'ip_based' && trusted.length === 0) throw new MirrorConfigError(`${where}: auth ip_based needs trusted_ips`);
    return { cfg, trusted, users };
  });
}

type AuthResult = { ok: true } | { ok: false; status: 401 | 403 };

function checkAuth(ep: PreparedEndpoint, req: FastifyRequest): AuthResult {
  switch (ep.cfg.auth) {
    case 'none':
      return { ok: true };
    case 'ip_based': {
      const ip = tryParseTarget(req.socket.remoteAddress ?? '');
      return ip && ep.trusted.some((t) => covers(t, ip)) ? { ok: true } : { ok: false, status: 403 };
    }
    case 'basic': {
      const h = req.headers.authorization;
      if (!h) return { ok: false, status: 401 };
      const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h);
      if (!m) return { ok: false, status: 403 };
      const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return { ok: false, status: 403 };
      const want = ep.users.get(decoded.slice(0, colon));
      const got = createHash('sha256').update(decoded.slice(colon + 1), 'utf8').digest();
      return want && timingSafeEqual(want, got) ? { ok: true } : { ok: false, status: 403 };
    }
  }
}

function flag(q: Record<string, unknown>, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(q, k);
}

function optionsFrom(req: FastifyRequest, ep: PreparedEndpoint, now: number): MirrorOptions {
  const q = (req.query ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : undefined);
  const origin = str('origin');
  const listName = str('listname');
  return {
    ipv4only: flag(q, 'ipv4only'),
    ipv6only: flag(q, 'ipv6only'),
    nosort: flag(q, 'nosort'),
    presorted: true,
    aggregate: ep.cfg.aggregate === true,
    now,
    ...(origin ? { origin } : {}),
    ...(listName && /^[A-Za-z0-9_.-]{1,64}$/.test(listName) ? { listName } : {}),
  };
}

const MIRROR_PAGE = 10_000;

/**
 * Active decisions in value order, a page per read: a million-entry list streams out with one page in
 * memory, and the event loop runs between pages (Readable.from pulls the next one when the socket drains).
 */
function* asItems(decisions: ValueOrderSource): Generator<MirrorItem> {
  let after: [string, string, string] | undefined;
  for (;;) {
    const rows = decisions.activeInValueOrder({ limit: MIRROR_PAGE, ...(after ? { after } : {}) });
    for (const [value, origin, scenario, family, isRange, expiresAt] of rows) {
      yield { value, origin, scenario, family, scope: isRange === 1 ? 'range' : 'ip', expiresAt };
    }
    if (rows.length < MIRROR_PAGE) return;
    const last = rows[rows.length - 1]!;
    after = [last[0], last[1], last[2]];
  }
}

async function serve(ep: PreparedEndpoint, deps: MirrorDeps, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const auth = checkAuth(ep, req);
  if (!auth.ok) {
    if (auth.status === 401) reply.header('www-authenticate', REALM);
    return reply.code(auth.status).type('text/plain; charset=utf-8').send('access denied\n');
  }
  const opts = optionsFrom(req, ep, deps.now?.() ?? Date.now());
  const chunks = renderMirrorChunks(asItems(deps.decisions), ep.cfg.format, opts);
  // Pull the first chunk now: an empty selection is a 404 in the mirror, and errors surface before headers.
  const first = chunks.next();
  if (first.done) return reply.code(404).type('text/plain; charset=utf-8').send('no decisions available\n');
  const body = Readable.from((function* () {
    yield first.value;
    yield* chunks;
  })());
  reply.type(ep.cfg.format === 'json' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8');
  reply.header('cache-control', 'no-store');
  if (/\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''))) {
    reply.header('content-encoding', 'gzip').header('vary', 'accept-encoding');
    return reply.send(body.pipe(createGzip()));
  }
  return reply.send(body);
}

/**
 * Fastify plugin serving the decision store as cs-blocklist-mirror-compatible blocklists, one route per
 * configured endpoint (GET; HEAD comes with it). Query parameters as the mirror's: ipv4only, ipv6only,
 * nosort, origin=, listname= (mikrotik).
 */
export function mirrorRoutes(deps: MirrorDeps): FastifyPluginAsync {
  const endpoints = prepareEndpoints(deps.endpoints);
  return async (app) => {
    // Every endpoint is a GET: anything else is answered in onRequest, before its body is read, so nobody
    // can make the mirror buffer a body. (Go's http.NotFound text, as the real mirror answers.)
    const notFound = async (_req: FastifyRequest, reply: FastifyReply) => reply.code(404).type('text/plain; charset=utf-8').send('404 page not found\n');
    app.all('/*', { onRequest: notFound }, notFound);
    for (const ep of endpoints) {
      app.get(ep.cfg.path, (req, reply) => serve(ep, deps, req, reply));
    }
  };
}
