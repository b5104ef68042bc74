import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { LapiCredentials } from '../store/index.js';
import { BadRequest, NotFound } from './errors.js';
import type * as Api from './contract.js';
import { route } from './route.js';

/** A running feed as the API sees it: its status, and a refresh now. */
export interface FeedHandle {
  readonly name: string;
  status(): Api.FeedStatus;
  /** Resolves when the result is stored (and enforced) or the attempt failed. */
  refresh(): Promise<Api.FeedStatus>;
}

export interface PeerAdminDeps {
  readonly feeds: readonly FeedHandle[];
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
    route(app, 'GET /v1/feeds', async () => ({ feeds: deps.feeds.map((f) => f.status()) }));

    route(app, 'POST /v1/feeds/refresh', async (req) => {
      const wanted = (req.query as { name?: string }).name;
      const feeds = wanted ? deps.feeds.filter((f) => f.name === wanted) : deps.feeds;
      if (wanted && feeds.length === 0) throw new NotFound(`no feed named ${wanted}`);
      return { feeds: await Promise.all(feeds.map((f) => f.refresh())) };
    });

    route(app, 'GET /v1/bouncers', async () => ({ bouncers: deps.credentials.listBouncers() }));
    route(app, 'POST /v1/bouncers', async (req, reply) => {
      const b = (req.body ?? {}) as { name?: unknown; key?: unknown };
      const n = name(b.name, 'bouncer name');
      const key = deps.credentials.addBouncer(n, typeof b.key === 'string' ? b.key : undefined);
      reply.code(201);
      return { name: n, key };
    });
    route(app, 'DELETE /v1/bouncers/:name', async (req) => {
      const n = name((req.params as { name: string }).name, 'bouncer name');
      if (!deps.credentials.deleteBouncer(n)) throw new NotFound(`no bouncer named ${n}`);
      return { deleted: n };
    });

    route(app, 'GET /v1/machines', async () => ({ machines: deps.credentials.listMachines() }));
    route(app, 'POST /v1/machines', async (req, reply) => {
      const b = (req.body ?? {}) as { name?: unknown; password?: unknown };
      const n = name(b.name, 'machine id');
      const password = deps.credentials.addMachine(n, typeof b.password === 'string' ? b.password : undefined);
      reply.code(201);
      return { name: n, password };
    });
    route(app, 'DELETE /v1/machines/:name', async (req) => {
      const n = name((req.params as { name: string }).name, 'machine id');
      if (!deps.credentials.deleteMachine(n)) throw new NotFound(`no machine named ${n}`);
      return { deleted: n };
    });
  };
}
