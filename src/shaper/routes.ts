import type { FastifyPluginAsync } from 'fastify';
import type { ShaperStatusReport, ShaperUsageQuery, ShaperUsageResponse } from './status.js';

/** Errors the admin API maps by class name (net/http-errors.ts): 400. */
class BadRequest extends Error {
  override name = 'BadRequest';
}

export interface ShaperRouteDeps {
  status(): Promise<ShaperStatusReport>;
  usage(fromMs: number, client: string | undefined): ShaperUsageResponse;
}

const CLIENT = /^(?:user|mac|ip):[A-Za-z0-9_.:@-]{1,64}$/;

/** `/v1/shaper/status` and `/v1/shaper/usage` (bytes per share per hour). */
export function shaperRoutes(d: ShaperRouteDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/shaper/status', async () => d.status());
    app.get('/v1/shaper/usage', async (req) => {
      const q = req.query as ShaperUsageQuery;
      const hours = q.hours === undefined ? 24 : Number(q.hours);
      if (!Number.isInteger(hours) || hours < 1 || hours > 2160) throw new BadRequest('hours: a whole number from 1 to 2160');
      if (q.client !== undefined && (typeof q.client !== 'string' || !CLIENT.test(q.client))) throw new BadRequest('client: a share key such as mac:02:77:00:00:00:10, user:alice or ip:10.77.0.10');
      return d.usage(Date.now() - hours * 3_600_000, q.client);
    });
  };
}
