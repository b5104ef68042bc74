import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tryParseDuration as parseGoDuration } from '../../config/index.js';
import { addInChunks, expiryAfter, SORTED_CHUNK } from '../../decisions/index.js';
import type { NewDecision } from '../../decisions/index.js';
import { parseTarget, tryParseTarget } from '../../net/ip.js';
import { banRefusal, NO_NETWORKS } from '../../net/target-guard.js';
import type { AlertDecisionRef, AlertQuery } from '../../store/index.js';
import { alertJson, type AlertFilter, type AlertView } from './alert-view.js';
import { parseAlerts, watcherOrigin } from './alerts.js';
import { mayDelete, notYours } from './permissions.js';
import { checkAlertLimits, storedAlert } from './alert-limits.js';
import { BODY_LIMITS } from './body-limits.js';
import type { LapiContext } from './context.js';
import { HttpError, queryOf, sendJson } from './http.js';
import { emptyFilterKey, first } from './query.js';
import { goJson } from './wire.js';

/** Alerts + decisions stored between two turns of the event loop, so polls and the admin API answer during a big push. */
const WORK_PER_TURN = 500;

/** Watchers' alerts: pushing them (with their decisions) and reading them back. */
export function alertRoutes(ctx: LapiContext, w: FastifyInstance): void {
  w.post('/alerts', { bodyLimit: BODY_LIMITS.alerts }, (req, reply) => postAlerts(ctx, req, reply));
  w.get('/alerts', (req, reply) => listAlerts(ctx, req, reply));
  w.delete('/alerts', (req, reply) => deleteAlerts(ctx, req, reply));
  w.get('/alerts/:id', (req, reply) => getAlert(ctx, req, reply));
  w.delete('/alerts/:id', (req, reply) => deleteAlert(ctx, req, reply));
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
    // The same guard as every other source: no watcher bans everything, the LAN or this gateway. Checked
    // as the decisions are taken, so a big import spreads the work over its chunks.
    const refused: string[] = [];
    const accepted = (function* () {
      for (const nd of a.decisions) {
        // Parsed once: the store takes the parsed target along instead of parsing the value again.
        const t = tryParseTarget(nd.value);
        const why = t ? banRefusal(t, net) : undefined;
        if (why !== undefined) refused.push(why);
        else yield t ? { ...nd, target: t } : nd;
      }
    })();
    if (a.decisions.length <= 100) {
      for (const nd of accepted) {
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
      // transaction each, with the event loop free in between. The alert keeps the first 1,000 as refs; they
      // carry no id: cscli shows these decisions under the watcher's stand-in alert (alert-view.ts), found in
      // one pass, not one by one.
      const kept: NewDecision[] = [];
      const noted = (function* () {
        for (const nd of accepted) {
          if (kept.length < 1000) kept.push(nd);
          yield nd;
        }
      })();
      const r = await addInChunks({ decisions: ctx.deps.decisions }, noted, SORTED_CHUNK);
      if (r.skipped > 0) req.log.warn(`LAPI: alert from ${machineId}: skipped ${r.skipped} decisions`);
      for (const nd of kept) {
        const t = tryParseTarget(nd.value);
        if (!t) continue;
        const expiresAt = expiryAfter(nd.durationSec, now);
        refs.push({ id: 0, value: t.text, scope: t.isHost ? 'Ip' : 'Range', type: 'ban', origin: nd.origin, scenario: nd.scenario ?? '', expiresAt });
      }
    }
    if (refused.length > 0) {
      const total = (ctx.refusedByMachine.get(machineId) ?? 0) + refused.length;
      ctx.refusedByMachine.set(machineId, total);
      (ctx.deps.log ?? req.log).warn(
        { machine: machineId, scenario: a.scenario, refused: refused.length, refusedSinceStart: total },
        `LAPI: alert from ${machineId}: refused ${refused.length} decision(s) (${total} since start): ${refused.slice(0, 5).join('; ')}`,
      );
    }
    if (a.skipped.length > 0) req.log.info(`LAPI: alert from ${machineId}: not taken: ${a.skipped.slice(0, 5).join('; ')}`);
    const id = ctx.alerts.add({
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

/** The alert filter of a `GET` or `DELETE /v1/alerts` query (CrowdSec's alertfilter.go, the parts that apply here). */
function alertQuery(ctx: LapiContext, req: FastifyRequest): { query: AlertQuery; filter: AlertFilter; limit: number } {
  const q = queryOf(req);
  const empty = emptyFilterKey(q, ['ip', 'range', 'value', 'scope', 'scenario', 'origin', 'since']);
  if (empty !== undefined) throw new HttpError(400, `${empty}: empty value; leave the filter out or give a value`);
  const sinceText = first(q, 'since');
  const sinceMs = sinceText !== undefined ? parseGoDuration(sinceText) : undefined;
  if (sinceText !== undefined && sinceMs === undefined) throw new HttpError(400, `while parsing duration: invalid duration ${JSON.stringify(sinceText)}`);
  const ip = first(q, 'ip') ?? first(q, 'range');
  const value = ip !== undefined ? parseTarget(ip).text : first(q, 'value');
  const limitText = first(q, 'limit');
  // CrowdSec: limit 0 (what `cscli alerts delete` sends) is no limit; absent is its default of 100.
  const limit = limitText !== undefined && /^\d{1,9}$/.test(limitText) ? Number(limitText) || Infinity : 100;
  const bool = (k: string) => (first(q, k) === undefined ? undefined : first(q, k)!.toLowerCase() === 'true');
  const hasActive = bool('has_active_decision');
  const includeCapi = bool('include_capi');
  return {
    query: {
      ...(first(q, 'scope') !== undefined ? { scope: first(q, 'scope')! } : {}),
      ...(first(q, 'scenario') !== undefined ? { scenario: first(q, 'scenario')! } : {}),
      ...(sinceMs !== undefined ? { since: ctx.clock() - sinceMs } : {}),
    },
    filter: {
      ...(value !== undefined ? { value } : {}),
      ...(first(q, 'origin') !== undefined ? { origin: first(q, 'origin')! } : {}),
      ...(hasActive !== undefined ? { hasActiveDecision: hasActive } : {}),
      ...(includeCapi !== undefined ? { includeCapi } : {}),
    },
    limit,
  };
}

/** Alerts matching, newest first, read a page at a time until `limit` are found. */
async function matchingAlerts(ctx: LapiContext, query: AlertQuery, filter: AlertFilter, limit: number): Promise<AlertView[]> {
  // A decision type other than ban matches nothing here: Gatehouse only bans.
  await ctx.views.ensureStandIns(filter.includeCapi !== false);
  const out: AlertView[] = [];
  let before: readonly [number, number] | undefined;
  while (out.length < limit) {
    const page = ctx.alerts.list({ ...query, ...(before ? { before } : {}), limit: 500 });
    for (const a of page) {
      const v = await ctx.views.view(a, filter);
      if (!v) continue;
      out.push(v);
      if (out.length >= limit) return out;
    }
    if (page.length < 500) return out;
    const last = page[page.length - 1]!;
    before = [last.createdAt, last.id];
  }
  return out;
}

async function listAlerts(ctx: LapiContext, req: FastifyRequest, reply: FastifyReply) {
  const { query, filter, limit } = alertQuery(ctx, req);
  const type = first(queryOf(req), 'decision_type');
  if (type !== undefined && type.toLowerCase() !== 'ban') return sendJson(reply, 'null');
  const now = ctx.clock();
  const out = (await matchingAlerts(ctx, query, filter, limit)).map((v) => alertJson(v, now));
  return sendJson(reply, out.length === 0 ? 'null' : goJson(JSON.stringify(out)));
}

function alertId(req: FastifyRequest): number {
  const text = (req.params as { id: string }).id;
  const id = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id)) throw new HttpError(400, `alert_id: wrong format: ${JSON.stringify(text)}`);
  return id;
}

const noAlert = (id: number) => new HttpError(404, `alert with id '${id}' doesn't exist`);

async function getAlert(ctx: LapiContext, req: FastifyRequest, reply: FastifyReply) {
  const id = alertId(req);
  const a = ctx.alerts.get(id);
  const v = a && (await ctx.views.view(a));
  if (!v) throw noAlert(id);
  return sendJson(reply, goJson(JSON.stringify(alertJson(v, ctx.clock()))));
}

/**
 * Deletes an alert and the live decisions under it, as CrowdSec does. A watcher deletes its own alerts; others'
 * (and stand-ins of other origins) only as far as `lapi.machines` grants it their origin.
 */
function deleteView(ctx: LapiContext, req: FastifyRequest, machineId: string, v: AlertView): void {
  const ds = v.decisions;
  if (ds.length > 100) ctx.deps.decisions.deleteValues(v.origin, [...new Set(ds.map((d) => d.value))]);
  else for (const d of ds) ctx.deps.decisions.delete(d.id);
  ctx.alerts.delete(v.alert.id);
  req.log.info(`LAPI: ${machineId} deleted alert ${v.alert.id} (${v.alert.scenario}) and its ${ds.length} live decision(s)`);
}

async function deleteAlert(ctx: LapiContext, req: FastifyRequest, reply: FastifyReply) {
  const id = alertId(req);
  const machineId = ctx.watchers.get(req)!;
  const a = ctx.alerts.get(id);
  if (!a) throw noAlert(id);
  const v = (await ctx.views.view(a)) ?? { alert: a, origin: a.origin ?? watcherOrigin(a.machineId), decisions: [], notShown: 0 };
  if (!mayDelete(machineId, v.origin, ctx.deps.machines)) throw new HttpError(403, notYours(machineId, v.origin));
  deleteView(ctx, req, machineId, v);
  return sendJson(reply, '{"nbDeleted":"1"}');
}

async function deleteAlerts(ctx: LapiContext, req: FastifyRequest, reply: FastifyReply) {
  const { query, filter, limit } = alertQuery(ctx, req);
  const machineId = ctx.watchers.get(req)!;
  // Collected first: deleting while paging would shift the pages.
  const matching = await matchingAlerts(ctx, query, filter, limit);
  const mine = matching.filter((v) => mayDelete(machineId, v.origin, ctx.deps.machines));
  // Alerts of other origins are left alone; when they are all there was, the watcher learns why.
  const refused = matching.find((v) => !mayDelete(machineId, v.origin, ctx.deps.machines));
  if (mine.length === 0 && refused) throw new HttpError(403, notYours(machineId, refused.origin));
  for (const v of mine) deleteView(ctx, req, machineId, v);
  return sendJson(reply, `{"nbDeleted":"${mine.length}"}`);
}
