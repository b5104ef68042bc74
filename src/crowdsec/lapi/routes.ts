import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { DecisionService } from '../../decisions/service.js';
import type { Decision, Direction, NewDecision } from '../../decisions/types.js';
import { covers, parseTarget, tryParseTarget } from '../../net/ip.js';
import type { AlertDecisionRef, LapiBouncer, LapiCredentials } from '../../store/lapi-credentials.js';
import { AlertFormatError, parseAlerts } from './alerts.js';
import { AlertLimitError, checkAlertLimits, storedAlert } from './alert-limits.js';
import { BODY_LIMITS, BodyTooLargeError, inflateCapped } from './body-limits.js';
import { addInChunks, SORTED_CHUNK } from '../../decisions/bulk-add.js';
import { formatDuration as formatGoDuration, tryParseDuration as parseGoDuration } from '../../config/duration.js';
import { signWatcherJwt, verifyWatcherJwt } from './jwt.js';
import { emptyFilterKey, first, matches, matchesNothing, parseDecisionsSelector, parseStreamQuery, type DecisionSelector, type RawQuery } from './query.js';
import { activeDecisionsJson, allowCheckFrom, smallListJson, type ActivePages, type AllowCheck } from './stream.js';
import { deletedDurationMs, remainingMs, wireScenario } from './wire.js';
import { deletableOrigins, mayDelete, notYours, type MachineGrant } from './permissions.js';
import { banRefusalOf, NO_NETWORKS, type NetworkContext } from '../../net/target-guard.js';

export interface LapiDeps {
  readonly decisions: DecisionService;
  readonly credentials: LapiCredentials;
  /** What a watcher's alert without decisions turns into (CrowdSec's default profile: ban 4h). */
  readonly profile: { readonly durationMs: number; readonly direction: Direction };
  readonly now?: () => number;
  /** HS256 key for watcher tokens; at least 32 bytes. */
  readonly jwtSecret: Buffer;
  /** Also answer `GET /health` → {"status":"up"} (off when the host listener has its own). Default true. */
  readonly serveHealth?: boolean;
  /** `lapi.machines`: origins a watcher may delete besides its own. */
  readonly machines?: readonly MachineGrant[];
  /** The gateway's LAN networks and own addresses, which no alert may ban (read fresh per request). */
  readonly network?: () => NetworkContext;
  /** Where refused decisions are reported; default the request's logger. */
  readonly log?: { warn(obj: object, msg: string): void };
}

const JSON_TYPE = 'application/json; charset=utf-8';
const FORBIDDEN = '{"message":"access forbidden"}';
const REALM = 'JWT realm=Crowdsec API local';
const TOKEN_TTL_SEC = 3600;
/**
 * Deltas cover changes from the last pull's own millisecond on (`since = lastPull - 1`): a write in the
 * same millisecond just after a pull must not be lost. (CrowdSec looks back 2 s for deletions; here writes
 * and pulls share one clock and one thread, and the store only reports a deletion for decisions created at
 * or before `since`, so a wider look-back would hide exactly the deletions of recently sent decisions.)
 */
const PULL_OVERLAP_MS = 1;
/** Bigger live queries are streamed in id order instead of sorted by expiry. */
const SORT_LIMIT = 20_000;
const NOT_FOUND = '{"message":"Page or Method not found"}';
/** Alerts + decisions stored between two turns of the event loop, so polls and the admin API answer during a big push. */
const WORK_PER_TURN = 500;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function queryOf(req: FastifyRequest): RawQuery {
  return (req.query ?? {}) as RawQuery;
}

/**
 * A CrowdSec-compatible Local API as a fastify plugin: real bouncers (crowdsec-firewall-bouncer, the
 * blocklist mirror, anything built on go-cs-bouncer) pull our decisions, and real watchers (a crowdsec
 * agent, cscli) log in and push alerts. Wire format follows CrowdSec 1.4.6's captured answers byte for byte
 * where bouncers can see it (research/crowdsec-captures).
 */
export function lapiRoutes(deps: LapiDeps): FastifyPluginAsync {
  return async (app) => {
    const clock = deps.now ?? Date.now;
    const pages: ActivePages = (q) => deps.decisions.activePage(q);
    if (deps.jwtSecret.length < 32) throw new Error('LAPI jwtSecret must be at least 32 bytes');

    // Per-value "still active?" answers for the stream's deleted lists; any store change invalidates them.
    const activeCache = new Map<string, Decision[]>();
    // Values with several decisions, for dedup. One index scan, then kept up to date from the changes: a
    // value gains a second decision only through an insert the store reports as contended. It may keep a
    // value that lost its second decision; that only costs a Map entry in the stream.
    let shared: Set<string> | undefined;
    const unsubscribe = deps.decisions.onChange((c) => {
      activeCache.clear();
      if (!shared || c.insertedFrom > c.insertedTo) return;
      if (c.contendedValues === undefined) shared = undefined;
      else for (const v of c.contendedValues) shared.add(v);
    });
    app.addHook('onClose', async () => unsubscribe());
    const activeFor = (value: string): Decision[] => {
      let ds = activeCache.get(value);
      if (ds === undefined) {
        ds = deps.decisions.covering(value).filter((d) => d.value === value);
        if (activeCache.size > 200_000) activeCache.clear();
        activeCache.set(value, ds);
      }
      return ds;
    };
    const allowCheck = (): AllowCheck | undefined => allowCheckFrom(deps.decisions.listAllow().map((a) => a.value));

    // Unknown paths and methods are answered before any body is read (in onRequest, which runs before body
    // parsing): nobody unauthenticated gets to make the server buffer or inflate anything. A catch-all route
    // rather than the 404 handler, whose hooks belong to the server's root scope.
    const notFound = async (_req: FastifyRequest, reply: FastifyReply) => sendJson(reply.code(404), NOT_FOUND);
    app.all('/*', { onRequest: notFound }, notFound);
    // Watchers and curl do not always say "application/json"; CrowdSec parses the body regardless.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
      const text = String(body);
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text) as unknown);
      } catch (e) {
        done(new HttpError(400, `invalid JSON body: ${(e as Error).message}`), undefined);
      }
    });
    // LAPI accepts gzip request bodies (CrowdSec body_limit.go); never compresses answers. The route's body
    // limit applies to the inflated bytes, and inflation stops there.
    app.addHook('preParsing', async (req, _reply, payload) => {
      if (String(req.headers['content-encoding'] ?? '').toLowerCase() !== 'gzip') return payload;
      return inflateCapped(payload, req.routeOptions.bodyLimit ?? BODY_LIMITS.usageMetrics);
    });

    app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') err = new BodyTooLargeError(req.routeOptions.bodyLimit ?? 0);
      const status = err instanceof HttpError ? err.status : err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : undefined;
      if (status === undefined && (err.name === 'InputError' || err.name === 'InvalidTargetError' || err instanceof AlertFormatError)) {
        return sendJson(reply.code(400), JSON.stringify({ message: err.message }));
      }
      if (err instanceof AlertLimitError) req.log.warn(`LAPI: alerts refused: ${err.message}`);
      if (status !== undefined) return sendJson(reply.code(status), JSON.stringify({ message: err.message }));
      req.log.error({ err }, 'LAPI request failed');
      return sendJson(reply.code(500), '{"message":"internal error"}');
    });

    if (deps.serveHealth !== false) {
      app.get('/health', async (_req, reply) => sendJson(reply, '{"status":"up"}'));
    }

    await app.register(
      async (v1) => {
        v1.setNotFoundHandler((_req, reply) => sendJson(reply.code(404), '{"message":"Page or Method not found"}'));
        await v1.register(async (b) => bouncerRoutes(b));
        await v1.register(async (w) => watcherRoutes(w));
        v1.post('/watchers/login', { bodyLimit: BODY_LIMITS.login }, login);
        v1.post('/usage-metrics', {
          bodyLimit: BODY_LIMITS.usageMetrics,
          // A key or a token, checked before the body is read.
          onRequest: async (req, reply) => {
            if (!bouncerOf(req) && !(await watcherOf(req))) return sendJson(reply.code(403), FORBIDDEN);
          },
        }, async (_req, reply) => sendJson(reply.code(201), 'null'));
      },
      { prefix: '/v1' },
    );

    // ------------------------------------------------------------------------------------ bouncers

    const bouncers = new WeakMap<FastifyRequest, LapiBouncer>();

    function bouncerOf(req: FastifyRequest): LapiBouncer | undefined {
      const key = req.headers['x-api-key'];
      const b = deps.credentials.checkBouncerKey(typeof key === 'string' ? key : undefined);
      if (b) deps.credentials.noteBouncerClient(b, req.ip, req.headers['user-agent']);
      return b;
    }

    function bouncerRoutes(b: FastifyInstance): void {
      b.addHook('onRequest', async (req, reply) => {
        const bouncer = bouncerOf(req);
        if (!bouncer) {
          req.log.warn({ ip: req.ip }, 'LAPI: API key not found');
          return req.method === 'HEAD' ? reply.code(403).send() : sendJson(reply.code(403), FORBIDDEN);
        }
        bouncers.set(req, bouncer);
      });
      b.head('/decisions', async (_req, reply) => emptyOk(reply));
      b.head('/decisions/stream', async (_req, reply) => emptyOk(reply));
      b.get('/decisions', { exposeHeadRoute: false }, liveDecisions);
      b.get('/decisions/stream', { exposeHeadRoute: false }, async (req, reply) => stream(req, reply, bouncers.get(req)!));
    }

    function emptyOk(reply: FastifyReply) {
      return reply.code(200).header('content-type', 'text/plain; charset=utf-8').send();
    }

    async function stream(req: FastifyRequest, reply: FastifyReply, bouncer: LapiBouncer) {
      const q = parseStreamQuery(queryOf(req));
      const now = clock();
      const allowed = allowCheck();
      const lastPull = bouncer.lastPull ?? (q.startup ? null : bouncer.createdAt);
      deps.credentials.setLastPull(bouncer.id, now);
      const none = matchesNothing(q.selector);

      const delta = lastPull === null || none ? undefined : deps.decisions.changesSince(lastPull - PULL_OVERLAP_MS, now);
      const deleted = delta ? deletedJson(delta.deleted, q.selector, now, q.dedup) : 'null';

      if (!q.startup) {
        const fresh = (delta?.new ?? []).filter(
          // >=: a decision created in the very millisecond of the last pull may have missed it; twice is harmless.
          (d) => d.createdAt >= lastPull! && matches(d, q.selector, wireScenario(d)) && !allowed?.(d.value) && remainingMs(d, now) > 0,
        );
        return sendJson(reply, `{"deleted":${deleted},"new":${smallListJson(fresh, (d) => remainingMs(d, now), q.dedup)}}`);
      }
      if (none) return sendJson(reply, `{"deleted":${deleted},"new":null}`);
      const body = activeDecisionsJson(pages, {
        selector: q.selector,
        dedup: q.dedup,
        now,
        ...(allowed ? { allowed } : {}),
        ...(q.dedup ? { shared: (shared ??= deps.decisions.sharedValues()) } : {}),
      });
      return reply
        .header('content-type', JSON_TYPE)
        .send(Readable.from(wrap(`{"deleted":${deleted},"new":`, body, '}'), { objectMode: false }));
    }

    /**
     * Deleted decisions a bouncer should drop: only values with no decision left that it would still
     * enforce. Sending a value that another decision keeps banned would make the bouncer unban it.
     */
    function deletedJson(ds: readonly Decision[], s: DecisionSelector, now: number, dedup: boolean): string {
      const out = ds.filter((d) => {
        if (!matches(d, s, wireScenario(d))) return false;
        return !activeFor(d.value).some((a) => remainingMs(a, now) > 0 && matches(a, s, wireScenario(a)));
      });
      return smallListJson(out, (d) => deletedDurationMs(d, now), dedup);
    }

    async function liveDecisions(req: FastifyRequest, reply: FastifyReply) {
      const raw = queryOf(req);
      const s = parseDecisionsSelector(raw);
      const now = clock();
      if (matchesNothing(s)) return sendJson(reply, 'null');
      const allowed = allowCheck();
      const scope = first(raw, 'scope')?.toLowerCase();
      const contains = (first(raw, 'contains') ?? 'true').toLowerCase() !== 'false';
      const valueText = first(raw, 'ip') ?? first(raw, 'range') ?? first(raw, 'value');
      let found: Decision[];
      if (valueText !== undefined) {
        const t = tryParseTarget(valueText);
        // CrowdSec answers a value it cannot match (a username, a bad IP) with nothing, not an error.
        if (!t || (scope !== undefined && scope !== 'ip' && scope !== 'range')) return sendJson(reply, 'null');
        found = contains
          ? deps.decisions.covering(t.text)
          : deps.decisions.list({ value: t.text }).filter((d) => {
              const dt = tryParseTarget(d.value);
              return dt !== undefined && covers(t, dt);
            });
      } else {
        if (pages({ afterId: 0, limit: SORT_LIMIT + 1 }).length > SORT_LIMIT) {
          const body = activeDecisionsJson(pages, { selector: s, dedup: false, now, ...(allowed ? { allowed } : {}) });
          return reply.header('content-type', JSON_TYPE).send(Readable.from(wrap('', body, ''), { objectMode: false }));
        }
        found = deps.decisions.list();
      }
      const keep = found
        .filter((d) => matches(d, s, wireScenario(d)) && !allowed?.(d.value) && remainingMs(d, now) > 0)
        .sort((a, b) => remainingMs(a, now) - remainingMs(b, now) || a.id - b.id);
      return sendJson(reply, smallListJson(keep, (d) => remainingMs(d, now), false));
    }

    // ------------------------------------------------------------------------------------ watchers

    const watchers = new WeakMap<FastifyRequest, string>();

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
    function checkToken(req: FastifyRequest): { machineId: string } | { why: string } {
      const token = tokenOf(req);
      if (!token) return { why: 'cookie token is empty' };
      const r = verifyWatcherJwt(token, deps.jwtSecret, Math.floor(clock() / 1000));
      if (!r.ok) return { why: r.why };
      if (!deps.credentials.getMachine(r.claims.id)) return { why: 'machine not found' };
      return { machineId: r.claims.id };
    }

    async function watcherOf(req: FastifyRequest): Promise<string | undefined> {
      const r = checkToken(req);
      return 'machineId' in r ? r.machineId : undefined;
    }

    function unauthorized(reply: FastifyReply, message: string) {
      return sendJson(reply.code(401).header('www-authenticate', REALM), JSON.stringify({ code: 401, message }));
    }

    function watcherRoutes(w: FastifyInstance): void {
      w.addHook('onRequest', async (req, reply) => {
        const r = checkToken(req);
        if ('why' in r) return unauthorized(reply, r.why);
        watchers.set(req, r.machineId);
      });
      w.get('/heartbeat', async (req, reply) => {
        deps.credentials.noteHeartbeat(watchers.get(req)!);
        return reply.code(200).send();
      });
      w.post('/alerts', { bodyLimit: BODY_LIMITS.alerts }, postAlerts);
      w.get('/alerts', listAlerts);
      w.delete('/decisions', deleteDecisions);
      w.delete('/decisions/:id', async (req, reply) => {
        const idText = (req.params as { id: string }).id;
        const id = /^\d{1,15}$/.test(idText) ? Number(idText) : NaN;
        if (!Number.isSafeInteger(id)) throw new HttpError(400, `decision_id: wrong format: ${JSON.stringify(idText)}`);
        const machineId = watchers.get(req)!;
        const origin = deps.decisions.get(id)?.origin;
        if (origin !== undefined && !mayDelete(machineId, origin, deps.machines)) throw new HttpError(403, notYours(machineId, origin));
        const gone = deps.decisions.delete(id);
        if (!gone) return sendJson(reply.code(404), JSON.stringify({ message: `decision with id '${id}' doesn't exist` }));
        req.log.info(`LAPI: ${watchers.get(req)} deleted decision ${id} (${gone.value})`);
        return sendJson(reply, '{"nbDeleted":"1"}');
      });
      w.get('/refresh_token', async (req, reply) => tokenAnswer(reply, watchers.get(req)!));
    }

    async function login(req: FastifyRequest, reply: FastifyReply) {
      const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
      const machineId = body.machine_id;
      const password = body.password;
      if (typeof machineId !== 'string' || typeof password !== 'string' || machineId === '' || password === '') {
        return unauthorized(reply, 'missing Username or Password');
      }
      if (!(await deps.credentials.checkMachine(machineId, password))) {
        req.log.warn({ ip: req.ip, machineId: machineId.slice(0, 64) }, 'LAPI: watcher login failed');
        return unauthorized(reply, 'incorrect Username or Password');
      }
      const scenarios = Array.isArray(body.scenarios) ? body.scenarios.filter((s): s is string => typeof s === 'string') : [];
      deps.credentials.noteLogin(machineId, req.ip, scenarios);
      return tokenAnswer(reply, machineId);
    }

    function tokenAnswer(reply: FastifyReply, machineId: string) {
      const iat = Math.floor(clock() / 1000);
      const exp = iat + TOKEN_TTL_SEC;
      const token = signWatcherJwt({ id: machineId, exp, orig_iat: iat }, deps.jwtSecret);
      const expire = new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      return sendJson(reply, `{"code":200,"expire":"${expire}","token":"${token}"}`);
    }

    /** Decisions the guard refused per watcher since start: a watcher that keeps trying stands out in the log. */
    const refusedByMachine = new Map<string, number>();

    async function postAlerts(req: FastifyRequest, reply: FastifyReply) {
      const machineId = watchers.get(req)!;
      checkAlertLimits(req.body);
      // Parsing a 50 MB body took one turn of the event loop; reading its decisions gets another. (Two
      // setImmediate: the body arrives in the poll phase, and a single one would run before any other I/O.)
      await new Promise((r) => setImmediate(() => setImmediate(r)));
      const alerts = parseAlerts(req.body, machineId, deps.profile);
      const now = clock();
      const ids: string[] = [];
      const net = deps.network?.() ?? NO_NETWORKS;
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
            const why = banRefusalOf(nd.value, net);
            if (why === undefined) yield nd;
            else refused.push(why);
          }
        })();
        if (a.decisions.length <= 100) {
          for (const nd of accepted) {
            try {
              const d = deps.decisions.add(nd);
              refs.push({ id: d.id, value: d.value, scope: d.scope === 'ip' ? 'Ip' : 'Range', type: d.type, origin: d.origin, scenario: d.scenario, expiresAt: d.expiresAt });
            } catch (e) {
              if ((e as Error).name !== 'InvalidTargetError' && (e as Error).name !== 'InputError') throw e;
              req.log.warn(`LAPI: alert from ${machineId}: skipped decision ${JSON.stringify(nd.value)}: ${(e as Error).message}`);
            }
          }
        } else {
          // Imports (cscli decisions import) send one alert with thousands of decisions: in chunks of one
          // transaction each, with the event loop free in between. The alert keeps the first 1,000 as refs.
          const kept: NewDecision[] = [];
          const noted = (function* () {
            for (const nd of accepted) {
              if (kept.length < 1000) kept.push(nd);
              yield nd;
            }
          })();
          const r = await addInChunks({ decisions: deps.decisions }, noted, SORTED_CHUNK);
          if (r.skipped > 0) req.log.warn(`LAPI: alert from ${machineId}: skipped ${r.skipped} decisions`);
          for (const nd of kept) {
            const t = tryParseTarget(nd.value);
            if (!t) continue;
            const expiresAt = nd.durationSec ? now + Math.round(nd.durationSec * 1000) : null;
            refs.push({ id: 0, value: t.text, scope: t.isHost ? 'Ip' : 'Range', type: 'ban', origin: nd.origin, scenario: nd.scenario ?? '', expiresAt });
          }
        }
        if (refused.length > 0) {
          const total = (refusedByMachine.get(machineId) ?? 0) + refused.length;
          refusedByMachine.set(machineId, total);
          (deps.log ?? req.log).warn(
            { machine: machineId, scenario: a.scenario, refused: refused.length, refusedSinceStart: total },
            `LAPI: alert from ${machineId}: refused ${refused.length} decision(s) (${total} since start): ${refused.slice(0, 5).join('; ')}`,
          );
        }
        if (a.skipped.length > 0) req.log.info(`LAPI: alert from ${machineId}: not taken: ${a.skipped.slice(0, 5).join('; ')}`);
        const id = deps.credentials.addAlert({
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

    async function listAlerts(req: FastifyRequest, reply: FastifyReply) {
      const q = queryOf(req);
      const limitText = first(q, 'limit');
      const sinceText = first(q, 'since');
      const sinceMs = sinceText !== undefined ? parseGoDuration(sinceText) : undefined;
      if (sinceText !== undefined && sinceMs === undefined) throw new HttpError(400, `while parsing duration: invalid duration ${JSON.stringify(sinceText)}`);
      const now = clock();
      const ip = first(q, 'ip') ?? first(q, 'range');
      const list = deps.credentials.listAlerts({
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

    async function deleteDecisions(req: FastifyRequest, reply: FastifyReply) {
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
      const machineId = watchers.get(req)!;
      let n = 0;
      if (filter.origin !== undefined) {
        if (!mayDelete(machineId, filter.origin, deps.machines)) throw new HttpError(403, notYours(machineId, filter.origin));
        n = deps.decisions.deleteWhere(filter).length;
      } else {
        // Origin by origin, only those this watcher may touch (its own unless lapi.machines grants more). This
        // also gives the store the filter it insists on when `cscli decisions delete --all` sends none.
        // A fixed list of origins spares a scan of every active decision (a million, with a big feed).
        const origins =
          deletableOrigins(machineId, deps.machines) ??
          (filter.value !== undefined ? new Set(deps.decisions.covering(filter.value).map((d) => d.origin)) : activeOrigins());
        for (const origin of origins) {
          if (mayDelete(machineId, origin, deps.machines)) n += deps.decisions.deleteWhere({ ...filter, origin }).length;
        }
      }
      req.log.info(`LAPI: ${machineId} deleted ${n} decision(s) ${JSON.stringify(filter)}`);
      return sendJson(reply, `{"nbDeleted":"${n}"}`);
    }

    function activeOrigins(): Set<string> {
      const origins = new Set<string>();
      let afterId = 0;
      for (;;) {
        const rows = pages({ afterId, limit: 10_000 });
        for (const r of rows) origins.add(r[3]);
        if (rows.length < 10_000) return origins;
        afterId = rows[rows.length - 1]![0];
      }
    }
  };
}

function sendJson(reply: FastifyReply, body: string) {
  return reply.header('content-type', JSON_TYPE).send(body);
}

/** Go's encoding/json escapes <, > and & in strings; JSON.stringify output never has them outside strings. */
function goJson(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

async function* wrap(head: string, body: AsyncIterable<string>, tail: string): AsyncGenerator<string> {
  if (head) yield head;
  for await (const chunk of body) yield chunk;
  if (tail) yield tail;
}
