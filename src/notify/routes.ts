import type { FastifyPluginAsync } from 'fastify';
import type { NotifyStatus, NotifyTestResult } from './contract.js';

class BadRequest extends Error {
  override name = 'BadRequest';
}
class NotFound extends Error {
  override name = 'NotFound';
}

export interface NotifyRouteDeps {
  status(): NotifyStatus;
  /** undefined: no such channel. */
  test(channel: string): Promise<NotifyTestResult> | undefined;
}

/** `GET /v1/notify/status`, `POST /v1/notify/test {channel}`. */
export function notifyRoutes(d: NotifyRouteDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/v1/notify/status', async () => d.status());
    app.post('/v1/notify/test', async (req) => {
      const channel = (req.body as { channel?: unknown } | null)?.channel;
      if (typeof channel !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,40}$/.test(channel)) throw new BadRequest('channel: the name of a notify channel');
      const r = d.test(channel);
      if (!r) throw new NotFound(`no notify channel named ${channel} (known: ${d.status().channels.map((c) => c.name).join(', ') || 'none'})`);
      return r;
    });
  };
}
