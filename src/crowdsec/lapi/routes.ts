import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Decision } from '../../decisions/index.js';
import { AlertFormatError } from './alerts.js';
import { AlertLimitError } from './alert-limits.js';
import { LapiDecisionReads } from './decision-reads.js';
import { AlertViews } from './alert-view.js';
import { LapiAlerts } from '../../store/index.js';
import { BODY_LIMITS, BodyTooLargeError, inflateCapped } from './body-limits.js';
import { bouncerOf, bouncerRoutes } from './bouncer-routes.js';
import type { LapiContext, LapiDeps } from './context.js';
import { FORBIDDEN, HttpError, NOT_FOUND, sendJson } from './http.js';
import { allowCheckFrom, type ActivePages } from './stream.js';
import { login, watcherOf, watcherRoutes } from './watcher-routes.js';

export type { LapiDeps } from './context.js';

/**
 * A CrowdSec-compatible Local API as a fastify plugin: real bouncers (crowdsec-firewall-bouncer, the
 * blocklist mirror, anything built on go-cs-bouncer) pull our decisions, and real watchers (a crowdsec
 * agent, cscli) log in and push alerts. Wire format follows CrowdSec 1.4.6's captured answers byte for byte
 * where bouncers can see it (research/crowdsec-captures).
 */
export function lapiRoutes(deps: LapiDeps): FastifyPluginAsync {
  return async (app) => {
    const clock = deps.now ?? Date.now;
    const reads = new LapiDecisionReads(deps.db, clock);
    const pages: ActivePages = (q) => reads.activePage(q);
    const alerts = new LapiAlerts(deps.db);
    if (deps.jwtSecret.length < 32) throw new Error('LAPI jwtSecret must be at least 32 bytes');

    // Per-value "still active?" answers for the stream's deleted lists; any store change invalidates them.
    const activeCache = new Map<string, Decision[]>();
    // Values with several decisions, for dedup. One index scan, then kept up to date from the changes: a
    // value gains a second decision only through an insert the store reports as contended. It may keep a
    // value that lost its second decision; that only costs a Map entry in the stream.
    let shared: Set<string> | undefined;
    // Must-see: a change this cache missed would serve a stale stream.
    const unsubscribe = deps.events.subscribe('decisions.changed', (c) => {
      activeCache.clear();
      if (!shared || c.insertedFrom > c.insertedTo) return;
      if (c.contendedValues === undefined) shared = undefined;
      else for (const v of c.contendedValues) shared.add(v);
    }, 'lapi stream cache');
    app.addHook('onClose', async () => unsubscribe());
    const activeFor = (value: string): Decision[] => {
      let ds = activeCache.get(value);
      if (ds === undefined) {
        ds = deps.decisions.covering(value).filter((d) => d.value === value);
        if (activeCache.size > 200_000) activeCache.clear();
        activeCache.set(value, ds);
      }
      return ds;
    };
    const ctx: LapiContext = {
      deps,
      clock,
      pages,
      reads,
      alerts,
      views: new AlertViews(alerts, deps.decisions, reads),
      activeFor,
      allowCheck: () => allowCheckFrom(deps.decisions.listAllow().map((a) => a.value)),
      sharedValues: () => (shared ??= reads.sharedValues()),
      watchers: new WeakMap(),
      refusedByMachine: new Map(),
    };

    // Unknown paths and methods are answered before any body is read (in onRequest, which runs before body
    // parsing): nobody unauthenticated gets to make the server buffer or inflate anything. A catch-all route
    // rather than the 404 handler, whose hooks belong to the server's root scope.
    const notFound = async (_req: FastifyRequest, reply: FastifyReply) => sendJson(reply.code(404), NOT_FOUND);
    app.all('/*', { onRequest: notFound }, notFound);
    // Watchers and curl do not always say "application/json"; CrowdSec parses the body regardless.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
      const text = String(body);
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text) as unknown);
      } catch (e) {
        done(new HttpError(400, `invalid JSON body: ${(e as Error).message}`), undefined);
      }
    });
    // LAPI accepts gzip request bodies (CrowdSec body_limit.go); never compresses answers. The route's body
    // limit applies to the inflated bytes, and inflation stops there.
    app.addHook('preParsing', async (req, _reply, payload) => {
      if (String(req.headers['content-encoding'] ?? '').toLowerCase() !== 'gzip') return payload;
      return inflateCapped(payload, req.routeOptions.bodyLimit ?? BODY_LIMITS.usageMetrics);
    });

    app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') err = new BodyTooLargeError(req.routeOptions.bodyLimit ?? 0);
      const status = err instanceof HttpError ? err.status : err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : undefined;
      if (status === undefined && (err.name === 'InputError' || err.name === 'InvalidTargetError' || err instanceof AlertFormatError)) {
        return sendJson(reply.code(400), JSON.stringify({ message: err.message }));
      }
      if (err instanceof AlertLimitError) req.log.warn(`LAPI: alerts refused: ${err.message}`);
      if (status !== undefined) return sendJson(reply.code(status), JSON.stringify({ message: err.message }));
      req.log.error({ err }, 'LAPI request failed');
      return sendJson(reply.code(500), '{"message":"internal error"}');
    });

    if (deps.serveHealth !== false) {
      app.get('/health', async (_req, reply) => sendJson(reply, '{"status":"up"}'));
    }

    await app.register(
      async (v1) => {
        await v1.register(async (b) => bouncerRoutes(ctx, b));
        await v1.register(async (w) => watcherRoutes(ctx, w));
        v1.post('/watchers/login', { bodyLimit: BODY_LIMITS.login }, (req, reply) => login(ctx, req, reply));
        v1.post('/usage-metrics', {
          bodyLimit: BODY_LIMITS.usageMetrics,
          // A key or a token, checked before the body is read.
          onRequest: async (req, reply) => {
            if (!bouncerOf(ctx, req) && !(await watcherOf(ctx, req))) return sendJson(reply.code(403), FORBIDDEN);
          },
        }, async (_req, reply) => sendJson(reply.code(201), 'null'));
      },
      { prefix: '/v1' },
    );
  };
}
