import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseTarget } from '../../net/ip.js';
import { alertRoutes } from './alert-routes.js';
import type { LapiContext } from './context.js';
import { HttpError, queryOf, sendJson } from './http.js';
import { signWatcherJwt, verifyWatcherJwt } from './jwt.js';
import { deletableOrigins, mayDelete, notYours } from './permissions.js';
import { emptyFilterKey, first } from './query.js';

const REALM = 'JWT realm=Crowdsec API local';
const TOKEN_TTL_SEC = 3600;

function tokenOf(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  const qt = first(queryOf(req), 'token');
  if (qt) return qt;
  const cookie = req.headers.cookie;
  const m = typeof cookie === 'string' ? /(?:^|;\s*)jwt=([^;]+)/.exec(cookie) : null;
  return m?.[1];
}

/** The machine id of a valid token whose machine still exists, or the gin-jwt message why not. */
export function checkToken(ctx: LapiContext, req: FastifyRequest): { machineId: string } | { why: string } {
  const token = tokenOf(req);
  if (!token) return { why: 'cookie token is empty' };
  const r = verifyWatcherJwt(token, ctx.deps.jwtSecret, Math.floor(ctx.clock() / 1000));
  if (!r.ok) return { why: r.why };
  if (!ctx.deps.credentials.getMachine(r.claims.id)) return { why: 'machine not found' };
  return { machineId: r.claims.id };
}

export async function watcherOf(ctx: LapiContext, req: FastifyRequest): Promise<string | undefined> {
  const r = checkToken(ctx, req);
  return 'machineId' in r ? r.machineId : undefined;
}

function unauthorized(reply: FastifyReply, message: string) {
  return sendJson(reply.code(401).header('www-authenticate', REALM), JSON.stringify({ code: 401, message }));
}

/** Routes for watchers (a JWT from `/v1/watchers/login`): heartbeat, alerts, deleting decisions, token refresh. */
export function watcherRoutes(ctx: LapiContext, w: FastifyInstance): void {
  w.addHook('onRequest', async (req, reply) => {
    const r = checkToken(ctx, req);
    if ('why' in r) return unauthorized(reply, r.why);
    ctx.watchers.set(req, r.machineId);
  });
  w.get('/heartbeat', async (req, reply) => {
    ctx.deps.credentials.noteHeartbeat(ctx.watchers.get(req)!);
    return reply.code(200).send();
  });
  alertRoutes(ctx, w);
  w.delete('/decisions', (req, reply) => deleteDecisions(ctx, req, reply));
  w.delete('/decisions/:id', async (req, reply) => {
    const idText = (req.params as { id: string }).id;
    const id = /^\d{1,15}$/.test(idText) ? Number(idText) : NaN;
    if (!Number.isSafeInteger(id)) throw new HttpError(400, `decision_id: wrong format: ${JSON.stringify(idText)}`);
    const machineId = ctx.watchers.get(req)!;
    const origin = ctx.deps.decisions.get(id)?.origin;
    if (origin !== undefined && !mayDelete(machineId, origin, ctx.deps.machines)) throw new HttpError(403, notYours(machineId, origin));
    const gone = ctx.deps.decisions.delete(id);
    if (!gone) return sendJson(reply.code(404), JSON.stringify({ message: `decision with id '${id}' doesn't exist` }));
    req.log.info(`LAPI: ${ctx.watchers.get(req)} deleted decision ${id} (${gone.value})`);
    return sendJson(reply, '{"nbDeleted":"1"}');
  });
  w.get('/refresh_token', async (req, reply) => tokenAnswer(ctx, reply, ctx.watchers.get(req)!));
}

/** `POST /v1/watchers/login`: machine id + password → a JWT. */
export async function login(ctx: LapiContext, req: FastifyRequest, reply: FastifyReply) {
  const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
  const machineId = body.machine_id;
  const password = body.password;
  if (typeof machineId !== 'string' || typeof password !== 'string' || machineId === '' || password === '') {
    return unauthorized(reply, 'missing Username or Password');
  }
  if (!(await ctx.deps.credentials.checkMachine(machineId, password))) {
    req.log.warn({ ip: req.ip, machineId: machineId.slice(0, 64) }, 'LAPI: watcher login failed');
    return unauthorized(reply, 'incorrect Username or Password');
  }
  const scenarios = Array.isArray(body.scenarios) ? body.scenarios.filter((s): s is string => typeof s === 'string') : [];
  ctx.deps.credentials.noteLogin(machineId, req.ip, scenarios);
  return tokenAnswer(ctx, reply, machineId);
}

function tokenAnswer(ctx: LapiContext, reply: FastifyReply, machineId: string) {
  const iat = Math.floor(ctx.clock() / 1000);
  const exp = iat + TOKEN_TTL_SEC;
  const token = signWatcherJwt({ id: machineId, exp, orig_iat: iat }, ctx.deps.jwtSecret);
  const expire = new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return sendJson(reply, `{"code":200,"expire":"${expire}","token":"${token}"}`);
}

/** Decisions the guard refused per watcher since start: a watcher that keeps trying stands out in the log. */
async function deleteDecisions(ctx: LapiContext, req: FastifyRequest, reply: FastifyReply) {
  const q = queryOf(req);
  const empty = emptyFilterKey(q, ['ip', 'range', 'value', 'origin', 'scenario', 'type', 'scope']);
  if (empty !== undefined) throw new HttpError(400, `${empty}: empty value; leave the filter out or give a value`);
  const type = first(q, 'type');
  const scope = first(q, 'scope')?.toLowerCase();
  if ((type !== undefined && type.toLowerCase() !== 'ban') || (scope !== undefined && scope !== 'ip' && scope !== 'range')) {
    return sendJson(reply, '{"nbDeleted":"0"}');
  }
  const valueText = first(q, 'ip') ?? first(q, 'range') ?? first(q, 'value');
  const filter = {
    ...(valueText !== undefined ? { value: parseTarget(valueText).text } : {}),
    ...(first(q, 'origin') !== undefined ? { origin: first(q, 'origin')! } : {}),
    ...(first(q, 'scenario') !== undefined ? { scenario: first(q, 'scenario')! } : {}),
  };
  const machineId = ctx.watchers.get(req)!;
  let n = 0;
  if (filter.origin !== undefined) {
    if (!mayDelete(machineId, filter.origin, ctx.deps.machines)) throw new HttpError(403, notYours(machineId, filter.origin));
    n = ctx.deps.decisions.deleteWhere(filter).length;
  } else {
    // Origin by origin, only those this watcher may touch (its own unless lapi.machines grants more). This
    // also gives the store the filter it insists on when `cscli decisions delete --all` sends none.
    // A fixed list of origins spares a scan of every active decision (a million, with a big feed).
    const origins =
      deletableOrigins(machineId, ctx.deps.machines) ??
      (filter.value !== undefined ? new Set(ctx.deps.decisions.covering(filter.value).map((d) => d.origin)) : await ctx.reads.activeOrigins());
    for (const origin of origins) {
      if (mayDelete(machineId, origin, ctx.deps.machines)) n += ctx.deps.decisions.deleteWhere({ ...filter, origin }).length;
    }
  }
  req.log.info(`LAPI: ${machineId} deleted ${n} decision(s) ${JSON.stringify(filter)}`);
  return sendJson(reply, `{"nbDeleted":"${n}"}`);
}
