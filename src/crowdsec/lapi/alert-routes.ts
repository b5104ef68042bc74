import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatDuration as formatGoDuration, tryParseDuration as parseGoDuration } from '../../config/duration.js';
import { addInChunks, SORTED_CHUNK } from '../../decisions/bulk-add.js';
import { parseTarget, tryParseTarget } from '../../net/ip.js';
import { banRefusalOf, NO_NETWORKS } from '../../net/target-guard.js';
import type { AlertDecisionRef } from '../../store/lapi-credentials.js';
import { checkAlertLimits, storedAlert } from './alert-limits.js';
import { parseAlerts } from './alerts.js';
import { BODY_LIMITS } from './body-limits.js';
import type { LapiContext } from './context.js';
import { HttpError, queryOf, sendJson } from './http.js';
import { first } from './query.js';
import { goJson } from './wire.js';

/** Alerts + decisions stored between two turns of the event loop, so polls and the admin API answer during a big push. */
const WORK_PER_TURN = 500;

/** Watchers' alerts: pushing them (with their decisions) and reading them back. */
export function alertRoutes(ctx: LapiContext, w: FastifyInstance): void {
  w.post('/alerts', { bodyLimit: BODY_LIMITS.alerts }, (req, reply) => postAlerts(ctx, req, reply));
  w.get('/alerts', (req, reply) => listAlerts(ctx, req, reply));
}

async function postAlerts(ctx: LapiContext, req: FastifyRequest, reply: FastifyReply) {
  const machineId = ctx.watchers.get(req)!;
  checkAlertLimits(req.body);
  // Parsing a 50 MB body took one turn of the event loop; reading its decisions gets another. (Two
  // setImmediate: the body arrives in the poll phase, and a single one would run before any other I/O.)
  await new Promise((r) => setImmediate(() => setImmediate(r)));
  const alerts = parseAlerts(req.body, machineId, ctx.deps.profile);
  const now = ctx.clock();
  const ids: string[] = [];
  const net = ctx.deps.network?.() ?? NO_NETWORKS;
  let work = 0;
  for (const a of alerts) {
    // Alerts and their decisions are stored a few hundred at a time, with the event loop free in between.
    work += 1 + (a.decisions.length <= 100 ? a.decisions.length : 0);
    if (work > WORK_PER_TURN) {
      work = 0;
      await new Promise((r) => setImmediate(r));
    }
    const refs: AlertDecisionRef[] = [];
    // The same guard as every other source: no watcher bans everything, the LAN or this gateway.
    const refused: string[] = [];
    const decisions = a.decisions.filter((nd) => {
      const why = banRefusalOf(nd.value, net);
      if (why !== undefined) refused.push(why);
      return why === undefined;
    });
    if (refused.length > 0) {
      const total = (ctx.refusedByMachine.get(machineId) ?? 0) + refused.length;
      ctx.refusedByMachine.set(machineId, total);
      (ctx.deps.log ?? req.log).warn(
        { machine: machineId, scenario: a.scenario, refused: refused.length, refusedSinceStart: total },
        `LAPI: alert from ${machineId}: refused ${refused.length} decision(s) (${total} since start): ${refused.slice(0, 5).join('; ')}`,
      );
    }
    if (decisions.length <= 100) {
      for (const nd of decisions) {
        try {
          const d = ctx.deps.decisions.add(nd);
          refs.push({ id: d.id, value: d.value, scope: d.scope === 'ip' ? 'Ip' : 'Range', type: d.type, origin: d.origin, scenario: d.scenario, expiresAt: d.expiresAt });
        } catch (e) {
          if ((e as Error).name !== 'InvalidTargetError' && (e as Error).name !== 'InputError') throw e;
          req.log.warn(`LAPI: alert from ${machineId}: skipped decision ${JSON.stringify(nd.value)}: ${(e as Error).message}`);
        }
      }
    } else {
      // Imports (cscli decisions import) send one alert with thousands of decisions: in chunks of one
      // transaction each, with the event loop free in between.
      const r = await addInChunks({ decisions: ctx.deps.decisions }, decisions, SORTED_CHUNK);
      if (r.skipped > 0) req.log.warn(`LAPI: alert from ${machineId}: skipped ${r.skipped} decisions`);
      for (const nd of decisions.slice(0, 1000)) {
        const t = tryParseTarget(nd.value);
        if (!t) continue;
        const expiresAt = nd.durationSec ? now + Math.round(nd.durationSec * 1000) : null;
        refs.push({ id: 0, value: t.text, scope: t.isHost ? 'Ip' : 'Range', type: 'ban', origin: nd.origin, scenario: nd.scenario ?? '', expiresAt });
      }
    }
    if (a.skipped.length > 0) req.log.info(`LAPI: alert from ${machineId}: not taken: ${a.skipped.slice(0, 5).join('; ')}`);
    const id = ctx.deps.credentials.addAlert({
      machineId,
      scenario: a.scenario,
      sourceScope: a.sourceScope,
      sourceValue: a.sourceValue,
      createdAt: now,
      decisions: refs,
      raw: JSON.stringify(storedAlert(a.raw)),
    });
    ids.push(String(id));
  }
  return sendJson(reply.code(201), JSON.stringify(ids));
}

async function listAlerts(ctx: LapiContext, req: FastifyRequest, reply: FastifyReply) {
  const q = queryOf(req);
  const limitText = first(q, 'limit');
  const sinceText = first(q, 'since');
  const sinceMs = sinceText !== undefined ? parseGoDuration(sinceText) : undefined;
  if (sinceText !== undefined && sinceMs === undefined) throw new HttpError(400, `while parsing duration: invalid duration ${JSON.stringify(sinceText)}`);
  const now = ctx.clock();
  const ip = first(q, 'ip') ?? first(q, 'range');
  const list = ctx.deps.credentials.listAlerts({
    ...(first(q, 'scope') !== undefined ? { scope: first(q, 'scope')! } : {}),
    ...(ip !== undefined ? { value: parseTarget(ip).text } : first(q, 'value') !== undefined ? { value: first(q, 'value')! } : {}),
    ...(first(q, 'scenario') !== undefined ? { scenario: first(q, 'scenario')! } : {}),
    ...(sinceMs !== undefined ? { since: now - sinceMs } : {}),
    ...(limitText !== undefined && /^\d+$/.test(limitText) ? { limit: Number(limitText) } : {}),
  });
  if (list.length === 0) return sendJson(reply, 'null');
  const out = list.map((a) => {
    const raw = JSON.parse(a.raw) as Record<string, unknown>;
    const source = (typeof raw.source === 'object' && raw.source !== null ? raw.source : {}) as Record<string, unknown>;
    return {
      capacity: typeof raw.capacity === 'number' ? raw.capacity : 0,
      created_at: new Date(a.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      decisions: a.decisions.map((d) => ({
        duration: formatGoDuration(d.expiresAt === null ? 0 : d.expiresAt - now),
        id: d.id,
        origin: d.origin,
        scenario: d.scenario,
        scope: d.scope,
        simulated: false,
        type: d.type,
        value: d.value,
      })),
      events: Array.isArray(raw.events) && raw.events.length > 0 ? raw.events : null,
      events_count: typeof raw.events_count === 'number' ? raw.events_count : 0,
      id: a.id,
      labels: raw.labels ?? null,
      leakspeed: typeof raw.leakspeed === 'string' ? raw.leakspeed : '',
      machine_id: a.machineId,
      message: typeof raw.message === 'string' ? raw.message : '',
      scenario: a.scenario,
      scenario_hash: typeof raw.scenario_hash === 'string' ? raw.scenario_hash : '',
      scenario_version: typeof raw.scenario_version === 'string' ? raw.scenario_version : '',
      simulated: raw.simulated === true,
      source: Object.fromEntries(Object.entries(source).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))),
      start_at: typeof raw.start_at === 'string' ? raw.start_at : '',
      stop_at: typeof raw.stop_at === 'string' ? raw.stop_at : '',
    };
  });
  return sendJson(reply, goJson(JSON.stringify(out)));
}
