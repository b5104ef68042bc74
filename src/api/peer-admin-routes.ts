import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { LapiCredentials } from '../store/lapi-credentials.js';
import type { RunningFeed } from '../feeds/index.js';
import { BadRequest } from './admin-routes.js';

export interface PeerAdminDeps {
  readonly feeds: readonly RunningFeed[];
  readonly credentials: LapiCredentials;
}

const NAME = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/, 'letters, digits and _.@- only, at most 64 characters');

function name(raw: unknown, what: string): string {
  const r = NAME.safeParse(raw);
  if (!r.success) throw new BadRequest(`${what}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

/** Feeds and CrowdSec credentials: what `gatehouse feeds|bouncers|machines` talk to. */
export function peerAdminRoutes(deps: PeerAdminDeps) {
  return async function register(app: FastifyInstance): Promise<void> {
    app.get('/v1/feeds', async () => ({ feeds: deps.feeds.map((f) => f.status()) }));

    app.post('/v1/feeds/refresh', async (req, reply) => {
      const wanted = (req.query as { name?: string }).name;
      const feeds = wanted ? deps.feeds.filter((f) => f.name === wanted) : deps.feeds;
      if (wanted && feeds.length === 0) return reply.code(404).send({ error: `no feed named ${wanted}` });
      return { feeds: await Promise.all(feeds.map((f) => f.refresh())) };
    });

    app.get('/v1/bouncers', async () => ({ bouncers: deps.credentials.listBouncers() }));
    app.post('/v1/bouncers', async (req, reply) => {
      const b = (req.body ?? {}) as { name?: unknown; key?: unknown };
      const key = deps.credentials.addBouncer(name(b.name, 'bouncer name'), typeof b.key === 'string' ? b.key : undefined);
      reply.code(201);
      return { name: b.name, key };
    });
    app.delete('/v1/bouncers/:name', async (req, reply) => {
      const n = name((req.params as { name: string }).name, 'bouncer name');
      if (!deps.credentials.deleteBouncer(n)) return reply.code(404).send({ error: `no bouncer named ${n}` });
      return { deleted: n };
    });

    app.get('/v1/machines', async () => ({ machines: deps.credentials.listMachines() }));
    app.post('/v1/machines', async (req, reply) => {
      const b = (req.body ?? {}) as { name?: unknown; password?: unknown };
      const password = deps.credentials.addMachine(name(b.name, 'machine id'), typeof b.password === 'string' ? b.password : undefined);
      reply.code(201);
      return { name: b.name, password };
    });
    app.delete('/v1/machines/:name', async (req, reply) => {
      const n = name((req.params as { name: string }).name, 'machine id');
      if (!deps.credentials.deleteMachine(n)) return reply.code(404).send({ error: `no machine named ${n}` });
      return { deleted: n };
    });
  };
}
