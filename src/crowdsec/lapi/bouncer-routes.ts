import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { Decision } from '../../decisions/index.js';
import { covers, tryParseTarget } from '../../net/ip.js';
import type { LapiBouncer } from '../../store/index.js';
import type { LapiContext } from './context.js';
import { FORBIDDEN, JSON_TYPE, queryOf, sendJson, wrap } from './http.js';
import { first, matches, matchesNothing, parseDecisionsSelector, parseStreamQuery, type DecisionSelector } from './query.js';
import { activeDecisionsJson, smallListJson } from './stream.js';
import { deletedDurationMs, remainingMs, wireScenario } from './wire.js';

/**
 * Deltas cover changes from the last pull's own millisecond on (`since = lastPull - 1`): a write in the
 * same millisecond just after a pull must not be lost. (CrowdSec looks back 2 s for deletions; here writes
 * and pulls share one clock and one thread, and the store only reports a deletion for decisions created at
 * or before `since`, so a wider look-back would hide exactly the deletions of recently sent decisions.)
 */
const PULL_OVERLAP_MS = 1;
/** Bigger live queries are streamed in id order instead of sorted by expiry. */
const SORT_LIMIT = 20_000;

const bouncers = new WeakMap<FastifyRequest, LapiBouncer>();

/** The bouncer owning the request's API key (noting where it connects from), or undefined. */
export function bouncerOf(ctx: LapiContext, req: FastifyRequest): LapiBouncer | undefined {
  const key = req.headers['x-api-key'];
  const b = ctx.deps.credentials.checkBouncerKey(typeof key === 'string' ? key : undefined);
  if (b) ctx.deps.credentials.noteBouncerClient(b, req.ip, req.headers['user-agent']);
  return b;
}

/** `/v1/decisions` and `/v1/decisions/stream` for bouncers (API key). */
export function bouncerRoutes(ctx: LapiContext, b: FastifyInstance): void {
  b.addHook('onRequest', async (req, reply) => {
    const bouncer = bouncerOf(ctx, req);
    if (!bouncer) {
      req.log.warn({ ip: req.ip }, 'LAPI: API key not found');
      return req.method === 'HEAD' ? reply.code(403).send() : sendJson(reply.code(403), FORBIDDEN);
    }
    bouncers.set(req, bouncer);
  });
  b.head('/decisions', async (_req, reply) => emptyOk(reply));
  b.head('/decisions/stream', async (_req, reply) => emptyOk(reply));
  b.get('/decisions', { exposeHeadRoute: false }, (req, reply) => liveDecisions(ctx, req, reply));
  b.get('/decisions/stream', { exposeHeadRoute: false }, async (req, reply) => stream(ctx, req, reply, bouncers.get(req)!));
}

function emptyOk(reply: FastifyReply) {
  return reply.code(200).header('content-type', 'text/plain; charset=utf-8').send();
}

async function stream(ctx: LapiContext, req: FastifyRequest, reply: FastifyReply, bouncer: LapiBouncer) {
  const q = parseStreamQuery(queryOf(req));
  const now = ctx.clock();
  const allowed = ctx.allowCheck();
  const lastPull = bouncer.lastPull ?? (q.startup ? null : bouncer.createdAt);
  // As CrowdSec does, a pull counts once its answer went out whole: a stream cut off mid-way leaves the
  // last pull where it was, so the next pull brings what this one failed to deliver.
  reply.raw.once('finish', () => ctx.deps.credentials.setLastPull(bouncer.id, now));
  const none = matchesNothing(q.selector);

  const delta = lastPull === null || none ? undefined : ctx.deps.decisions.changesSince(lastPull - PULL_OVERLAP_MS, now);
  const deleted = delta ? deletedJson(ctx, delta.deleted, q.selector, now, q.dedup) : 'null';

  if (!q.startup) {
    const fresh = (delta?.new ?? []).filter(
      // >=: a decision created in the very millisecond of the last pull may have missed it; twice is harmless.
      (d) => d.createdAt >= lastPull! && matches(d, q.selector, wireScenario(d)) && !allowed?.(d.value) && remainingMs(d, now) > 0,
    );
    return sendJson(reply, `{"deleted":${deleted},"new":${smallListJson(fresh, (d) => remainingMs(d, now), q.dedup)}}`);
  }
  if (none) return sendJson(reply, `{"deleted":${deleted},"new":null}`);
  const body = activeDecisionsJson(ctx.pages, {
    selector: q.selector,
    dedup: q.dedup,
    now,
    ...(allowed ? { allowed } : {}),
    ...(q.dedup ? { shared: ctx.sharedValues() } : {}),
  });
  return reply
    .header('content-type', JSON_TYPE)
    .send(Readable.from(wrap(`{"deleted":${deleted},"new":`, body, '}'), { objectMode: false }));
}

/**
 * Deleted decisions a bouncer should drop: only values with no decision left that it would still
 * enforce. Sending a value that another decision keeps banned would make the bouncer unban it.
 */
function deletedJson(ctx: LapiContext, ds: readonly Decision[], s: DecisionSelector, now: number, dedup: boolean): string {
  const out = ds.filter((d) => {
    if (!matches(d, s, wireScenario(d))) return false;
    return !ctx.activeFor(d.value).some((a) => remainingMs(a, now) > 0 && matches(a, s, wireScenario(a)));
  });
  return smallListJson(out, (d) => deletedDurationMs(d, now), dedup);
}

async function liveDecisions(ctx: LapiContext, req: FastifyRequest, reply: FastifyReply) {
  const raw = queryOf(req);
  const s = parseDecisionsSelector(raw);
  const now = ctx.clock();
  if (matchesNothing(s)) return sendJson(reply, 'null');
  const allowed = ctx.allowCheck();
  const scope = first(raw, 'scope')?.toLowerCase();
  const contains = (first(raw, 'contains') ?? 'true').toLowerCase() !== 'false';
  const valueText = first(raw, 'ip') ?? first(raw, 'range') ?? first(raw, 'value');
  let found: Decision[];
  if (valueText !== undefined) {
    const t = tryParseTarget(valueText);
    // CrowdSec answers a value it cannot match (a username, a bad IP) with nothing, not an error.
    if (!t || (scope !== undefined && scope !== 'ip' && scope !== 'range')) return sendJson(reply, 'null');
    found = contains
      ? ctx.deps.decisions.covering(t.text)
      : ctx.deps.decisions.list({ value: t.text }).filter((d) => {
          const dt = tryParseTarget(d.value);
          return dt !== undefined && covers(t, dt);
        });
  } else {
    if (ctx.pages({ afterId: 0, limit: SORT_LIMIT + 1 }).length > SORT_LIMIT) {
      const body = activeDecisionsJson(ctx.pages, { selector: s, dedup: false, now, ...(allowed ? { allowed } : {}) });
      return reply.header('content-type', JSON_TYPE).send(Readable.from(wrap('', body, ''), { objectMode: false }));
    }
    found = ctx.deps.decisions.list();
  }
  const keep = found
    .filter((d) => matches(d, s, wireScenario(d)) && !allowed?.(d.value) && remainingMs(d, now) > 0)
    .sort((a, b) => remainingMs(a, now) - remainingMs(b, now) || a.id - b.id);
  return sendJson(reply, smallListJson(keep, (d) => remainingMs(d, now), false));
}

// ------------------------------------------------------------------------------------ watchers
