import type { FastifyPluginAsync } from 'fastify';
import { clientAddress } from './addr.js';
import type { ShaperFairUseRequest, ShaperStatusReport, ShaperUsageQuery, ShaperUsageResponse } from './status.js';

/** Errors the admin API maps by class name (net/http-errors.ts): 400. */
class BadRequest extends Error {
  override name = 'BadRequest';
}

export interface ShaperRouteDeps {
  status(): Promise<ShaperStatusReport>;
  usage(fromMs: number, client: string | undefined): ShaperUsageResponse;
  setFairUse(ips: readonly string[], on: boolean, reason: string): Promise<void>;
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
    app.post('/v1/shaper/fair-use', async (req) => {
      const b = (req.body ?? {}) as Partial<ShaperFairUseRequest>;
      if (!Array.isArray(b.ips) || b.ips.length === 0 || b.ips.length > 64) throw new BadRequest('ips: a list of 1 to 64 client addresses');
      const ips = b.ips.map(clientAddress);
      if (ips.some((a) => a === undefined)) throw new BadRequest('ips: every entry must be an IPv4 or IPv6 address');
      if (typeof b.on !== 'boolean') throw new BadRequest('on: true or false');
      const reason = typeof b.reason === 'string' && b.reason.length <= 200 ? b.reason : 'admin';
      await d.setFairUse(ips as string[], b.on, reason);
      return { ips: ips as string[], on: b.on };
    });
  };
}
