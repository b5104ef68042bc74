import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

/** Whether the request carries the bearer token whose sha256 is `sha256Hex`. */
function tokenMatches(authorization: string | undefined, sha256Hex: string): boolean {
  const m = /^Bearer (.+)$/.exec(authorization ?? '');
  if (!m) return false;
  const got = createHash('sha256').update(m[1]!).digest();
  return timingSafeEqual(got, Buffer.from(sha256Hex, 'hex'));
}

/**
 * `GET /metrics` in Prometheus text format, behind the token when one is set. The dashboard mounts this
 * under web.listen (d1: `app.register(metrics.plugin)`); the metrics module's own listener serves it too.
 */
export function metricsPlugin(registry: Registry, opts: { readonly tokenSha256?: string | undefined }): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', async (req, reply) => {
      if (opts.tokenSha256 && !tokenMatches(req.headers.authorization, opts.tokenSha256)) {
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'metrics need Authorization: Bearer TOKEN (metrics.token_sha256)' });
      }
      return reply.header('content-type', registry.contentType).send(await registry.metrics());
    });
  };
}
