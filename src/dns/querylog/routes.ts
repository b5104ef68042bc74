import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseDuration } from '../../config/index.js';
import type { QueryLogService } from './service.js';
import type { DnsLogQuery, DnsTopQuery, QueryLogEndpoints } from './types.js';

/** A request the caller can fix; the admin API maps the class name to 400 (net/http-errors.ts). */
class BadRequest extends Error {
  override name = 'BadRequest';
}

export const MAX_LOG_LIMIT = 100_000;
export const MAX_TOP_LIMIT = 1000;

const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);

/** "1h", "30m", "7d", or seconds; how far back from now. */
const ago = z.union([z.coerce.number().positive(), z.string().min(1).max(32)]).transform((v, ctx) => {
  if (typeof v === 'number') return v * 1000;
  // A number of seconds arrives as text in a query string.
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  try {
    const ms = parseDuration(v);
    if (ms > 0) return ms;
    ctx.addIssue({ code: 'custom', message: `bad duration ${JSON.stringify(v)}: must be positive` });
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `bad duration ${JSON.stringify(v)}: ${(e as Error).message}` });
  }
  return z.NEVER;
});

const logQuery = z
  .object({
    client: z.string().min(1).max(253).optional(),
    blocked: bool.optional(),
    domain: z.string().min(1).max(253).optional(),
    since: ago.optional(),
    until: ago.optional(),
    limit: z.coerce.number().int().positive().max(MAX_LOG_LIMIT).optional(),
  })
  .strict();

const topQuery = z
  .object({
    since: ago.optional(),
    limit: z.coerce.number().int().positive().max(MAX_TOP_LIMIT).optional(),
  })
  .strict();

/** Compile-time check: what the contract lets a client send is what these schemas take. */
type Takes<S extends z.ZodType, T extends z.input<S>> = [S, T];
export type QueryLogContractFits = [Takes<typeof logQuery, DnsLogQuery>, Takes<typeof topQuery, DnsTopQuery>];

function parse<T>(schema: z.ZodType<T>, data: unknown): T {
  const r = schema.safeParse(data ?? {});
  if (!r.success) {
    throw new BadRequest(`query: ${r.error.issues.map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`).join('; ')}`);
  }
  return r.data;
}

/** A GET route by its entry in the query log's endpoint table (the admin contract's part), answer type-checked. */
function get<E extends keyof QueryLogEndpoints>(app: FastifyInstance, endpoint: E, handler: (req: FastifyRequest) => Promise<QueryLogEndpoints[E]['response']>): void {
  app.get(endpoint.slice('GET '.length), handler);
}

export interface QueryLogRouteDeps {
  /** Answers off the event loop (QueryLogService); a listing over a million rows can take seconds. */
  readonly log: Pick<QueryLogService, 'query' | 'top'>;
  /** Writes buffered in the workers reach the file within a second; a caller may flush them first. */
  readonly flush?: () => Promise<void>;
  readonly now?: () => number;
}

/** `/v1/dns/log` and `/v1/dns/top`, for the dns module's routes on the admin API. */
export function queryLogRoutes(deps: QueryLogRouteDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  return async (app) => {
    get(app, 'GET /v1/dns/log', async (req) => {
      const q = parse(logQuery, req.query);
      await deps.flush?.();
      const t = now();
      return {
        queries: await deps.log.query({
          client: q.client,
          blocked: q.blocked,
          domain: q.domain,
          since: q.since !== undefined ? t - q.since : undefined,
          until: q.until !== undefined ? t - q.until : undefined,
          limit: q.limit,
        }),
      };
    });
    get(app, 'GET /v1/dns/top', async (req) => {
      const q = parse(topQuery, req.query);
      await deps.flush?.();
      const t = now();
      return deps.log.top({ since: q.since !== undefined ? t - q.since : undefined, limit: q.limit }, t);
    });
  };
}
