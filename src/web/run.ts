import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiRef } from '../api/index.js';
import type { AllowEntry, BlockClientsResponse, BlockEvent, BlockSummary, Decision, DnsLogResponse, DnsOptoutResponse, DnsStatus, DnsTopResponse, ExplainResponse, FeedStatus, PortalSessionView, PortalUser, PortalVoucher, ShaperStatusReport } from '../api/index.js';
import { clientsRef, type LanDevice } from '../clients/index.js';
import { deviceGroups } from '../dns/index.js';
import { metricsRef } from '../metrics/index.js';
import type { Contribution, ModuleContext } from '../modules/index.js';
import { clientKey, limitedFastify, listenOn } from '../net/listeners.js';
import type { LapiBouncer, LapiMachine } from '../store/index.js';
import { AdminAccounts, type Session } from './accounts.js';
import { APP_CSS, APP_JS } from './assets.js';
import { DEFAULT_SESSION_TTL_MS } from './config.js';
import { parseCookies, SESSION_COOKIE, sessionCookie } from './cookies.js';
import { wanRefusal } from './guard.js';
import type { Html } from './html.js';
import { startLiveStream } from './live.js';
import type { WebView } from './module.js';
import { blocksPage, explainFragment, notice, type BlockFilters } from './pages/blocks.js';
import { clientsPage, deviceViews } from './pages/clients.js';
import { decisionsPage } from './pages/decisions.js';
import { layout, loginPage, type Tab } from './pages/layout.js';
import { dnsListsFragment, type ModulePanels } from './pages/module-panels.js';
import { overviewPage } from './pages/overview.js';
import { LoginLimiter } from './rate-limit.js';
import { loadTls } from './tls.js';
import { loadVendorScripts } from './vendor.js';

declare module 'fastify' {
  interface FastifyRequest {
    webSession?: Session & { id: string };
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Only 'self': no inline script runs, so an escaped-but-missed value in a page cannot become code. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/** The answer of one admin API call made for a page, with the page's own cookie and token. */
interface ApiAnswer<T> {
  readonly ok: boolean;
  readonly status: number;
  readonly body: T & { error?: string };
}

/**
 * The dashboard: its own listener (web.listen, HTTPS with web.tls), login with admin accounts, and the
 * SAME admin API the CLI uses mounted under /api behind the session; the pages are rendered from answers
 * of that API (fastify's inject, with the page request's cookie), so nothing of it is implemented twice.
 */
export async function startWeb(ctx: ModuleContext<WebView>): Promise<Contribution<undefined>> {
  const cfg = ctx.config.web!;
  const api = ctx.get(apiRef);
  if (!api) throw new Error('web: the api module is not running');
  const tls = await loadTls(cfg.tls, ctx.dataDir);
  const refusal = wanRefusal(cfg.listen, tls !== undefined, ctx.network(), ctx.config.interfaces.wan);
  if (refusal) throw new Error(refusal);
  const accounts = new AdminAccounts(ctx.store);
  const limiter = new LoginLimiter();
  const ttl = cfg.session_ttl ?? DEFAULT_SESSION_TTL_MS;
  const secure = tls !== undefined;
  const vendor = await loadVendorScripts();
  const stops = new Set<() => void>();
  // Modules started before this one: every module the config enables (the dashboard starts after the api).
  const running = new Set(ctx.running().map((m) => m.name));

  const metrics = ctx.get(metricsRef);
  // /metrics for Prometheus: behind its bearer token when metrics.token_sha256 is set (the plugin checks
  // it), else behind the dashboard login like every other path.
  const metricsPublic = metrics !== undefined && ctx.config.metrics?.token_sha256 !== undefined;
  const isPublic = (url: string) => url === '/login' || url.startsWith('/assets/') || (metricsPublic && url === '/metrics');

  const app = limitedFastify('web.listen', { limits: ctx.listenerLimits, log: ctx.log }, { bodyLimit: 1024 * 1024, ...(tls ? { tls } : {}) });
  await app.register(formbody);
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode ?? (err.name === 'BadRequest' || err.name === 'InvalidTargetError' ? 400 : err.name === 'NotFound' ? 404 : 500);
    if (status >= 500) ctx.log.error({ err: err.message }, 'web: request failed');
    void reply.code(status).send({ error: status >= 500 ? `internal error: ${err.message}` : err.message });
  });

  app.addHook('onRequest', async (req, reply) => {
    void reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'same-origin');
    const path = req.url.split('?')[0]!;
    if (isPublic(path)) return;
    const id = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    const s = id ? accounts.session(id) : undefined;
    if (!s || !id) {
      const wantsPage = req.method === 'GET' && !path.startsWith('/api/') && path !== '/live' && !req.headers['hx-request'];
      if (wantsPage) return reply.redirect('/login', 303);
      return reply.code(401).send({ error: 'log in first' });
    }
    req.webSession = { ...s, id };
  });
  // After the body is parsed, so a form's hidden _csrf field counts as well as htmx's X-CSRF-Token header.
  app.addHook('preHandler', async (req, reply) => {
    const s = req.webSession;
    if (!s || !UNSAFE.has(req.method)) return;
    const header = req.headers['x-csrf-token'];
    const field = (req.body as Record<string, unknown> | undefined)?._csrf;
    const got = typeof header === 'string' ? header : typeof field === 'string' ? field : undefined;
    if (got !== s.csrf) return reply.code(403).send({ error: 'missing or wrong CSRF token: reload the page' });
  });

  /** One admin API call on behalf of the page's request: same cookie, same token, same checks. */
  async function call<T>(req: FastifyRequest, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: Record<string, unknown>): Promise<ApiAnswer<T>> {
    const r = await app.inject({
      method,
      url: `/api${url}`,
      headers: { cookie: req.headers.cookie ?? '', 'x-csrf-token': req.webSession?.csrf ?? '', ...(payload ? { 'content-type': 'application/json' } : {}) },
      ...(payload ? { payload: JSON.stringify(payload) } : {}),
    });
    return { ok: r.statusCode < 300, status: r.statusCode, body: r.json() as T & { error?: string } };
  }
  const page = (reply: FastifyReply, req: FastifyRequest, tab: Tab, title: string, body: Html, chart = false) =>
    reply.type('text/html; charset=utf-8').send(layout({ title, tab, csrf: req.webSession!.csrf, admin: req.webSession!.admin, body, chart }).text);
  const fragment = (reply: FastifyReply, h: Html) => reply.type('text/html; charset=utf-8').send(h.text);

  await app.register(async (a: FastifyInstance) => api.routes(a, {}), { prefix: '/api' });
  if (metrics) await app.register(metrics.plugin);

  // ----------------------------------------------------------------------------------------- assets
  app.get('/assets/htmx.min.js', async (_q, r) => r.type('text/javascript').header('cache-control', 'public, max-age=86400').send(vendor.htmx));
  app.get('/assets/chart.umd.min.js', async (_q, r) => r.type('text/javascript').header('cache-control', 'public, max-age=86400').send(vendor.chart));
  app.get('/assets/app.js', async (_q, r) => r.type('text/javascript').send(APP_JS));
  app.get('/assets/app.css', async (_q, r) => r.type('text/css').send(APP_CSS));

  // ------------------------------------------------------------------------------------------ login
  app.get('/login', async (_q, reply) => reply.type('text/html; charset=utf-8').send(loginPage().text));
  app.post('/login', async (req, reply) => {
    const who = clientKey(req.socket.remoteAddress) ?? 'unknown';
    const wait = limiter.retryAfter(who);
    if (wait > 0) {
      ctx.log.warn({ client: who }, 'web: login refused, too many failures');
      return reply.code(429).header('retry-after', String(wait)).type('text/html; charset=utf-8').send(loginPage(`Too many failed logins from your address: try again in ${wait} s.`).text);
    }
    const b = (req.body ?? {}) as Record<string, unknown>;
    const name = typeof b.name === 'string' ? b.name : '';
    const password = typeof b.password === 'string' ? b.password : '';
    if (!(await accounts.verify(name, password))) {
      limiter.failed(who);
      ctx.log.warn({ client: who, admin: name.slice(0, 64) }, 'web: failed login');
      return reply.code(401).type('text/html; charset=utf-8').send(loginPage('Wrong name or password.').text);
    }
    limiter.succeeded(who);
    const { id } = accounts.openSession(name, ttl, who);
    ctx.log.info({ client: who, admin: name }, 'web: login');
    return reply.header('set-cookie', sessionCookie(id, { secure, maxAgeSec: Math.floor(ttl / 1000) })).redirect('/', 303);
  });
  app.post('/logout', async (req, reply) => {
    accounts.closeSession(req.webSession!.id);
    return reply.header('set-cookie', sessionCookie('', { secure, maxAgeSec: 0 })).redirect('/login', 303);
  });

  /** The panels of the modules that run (not in this build, or off: not asked), from their own routes. */
  async function modulePanelsFor(req: FastifyRequest): Promise<ModulePanels> {
    const [dns, sessions, vouchers, accounts, shaper] = await Promise.all([
      running.has('dns') ? call<DnsStatus>(req, 'GET', '/v1/dns/status') : undefined,
      running.has('portal') ? call<{ sessions: PortalSessionView[] }>(req, 'GET', '/v1/portal/sessions') : undefined,
      running.has('portal') ? call<{ vouchers: PortalVoucher[] }>(req, 'GET', '/v1/portal/vouchers') : undefined,
      running.has('portal') ? call<{ users: PortalUser[] }>(req, 'GET', '/v1/portal/users') : undefined,
      running.has('shaper') ? call<ShaperStatusReport>(req, 'GET', '/v1/shaper/status') : undefined,
    ]);
    return {
      ...(dns?.ok ? { dns: { status: dns.body } } : {}),
      ...(sessions?.ok ? { portal: { sessions: sessions.body.sessions, ...(vouchers?.ok ? { vouchers: vouchers.body.vouchers } : {}), ...(accounts?.ok ? { accounts: accounts.body.users } : {}) } } : {}),
      ...(shaper?.ok ? { shaper: { clients: shaper.body.clients } } : {}),
    };
  }

  // ------------------------------------------------------------------------------------------ pages
  app.get('/', async (req, reply) => {
    const [summary, feeds, bouncers, machines, panels] = await Promise.all([
      call<BlockSummary>(req, 'GET', '/v1/blocks/summary?since=24h&fresh=false'),
      call<{ feeds: FeedStatus[] }>(req, 'GET', '/v1/feeds'),
      call<{ bouncers: LapiBouncer[] }>(req, 'GET', '/v1/bouncers'),
      call<{ machines: LapiMachine[] }>(req, 'GET', '/v1/machines'),
      modulePanelsFor(req),
    ]);
    const body = overviewPage({
      summary: summary.ok ? summary.body : { since: 0, hourly: [], topClients: [], topRemotes: [], remotesAsOf: 0 },
      feeds: feeds.body.feeds ?? [],
      bouncers: bouncers.body.bouncers ?? [],
      machines: machines.body.machines ?? [],
      panels,
    });
    return page(reply, req, 'overview', 'Overview', body, true);
  });

  app.get('/blocks', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const filters: BlockFilters = {
      ...(q.direction === 'inbound' || q.direction === 'outbound' ? { direction: q.direction } : {}),
      ...(q.client ? { client: q.client } : {}),
      ...(q.remote ? { remote: q.remote } : {}),
      ...(q.since ? { since: q.since } : {}),
    };
    const params = new URLSearchParams({ ...filters, limit: '50', fresh: 'false', ...(q.before ? { before: q.before } : {}) } as Record<string, string>);
    const r = await call<{ blocks: BlockEvent[]; next?: string }>(req, 'GET', `/v1/blocks?${params}`);
    const body = blocksPage({ blocks: r.body.blocks ?? [], filters, ...(r.body.next ? { next: r.body.next } : {}), ...(r.ok ? {} : { error: r.body.error ?? 'failed' }) });
    return page(reply, req, 'blocks', 'Blocks', body);
  });

  app.get('/decisions', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const params = new URLSearchParams({ limit: '200', ...(q.value ? { value: q.value } : {}), ...(q.origin ? { origin: q.origin } : {}) });
    const [ds, allow] = await Promise.all([
      call<{ decisions: Decision[] }>(req, 'GET', `/v1/decisions?${params}`),
      call<{ allow: AllowEntry[] }>(req, 'GET', '/v1/allow'),
    ]);
    const body = decisionsPage({
      decisions: ds.body.decisions ?? [],
      allow: allow.body.allow ?? [],
      q: { ...(q.value ? { value: q.value } : {}), ...(q.origin ? { origin: q.origin } : {}) },
      ...(ds.ok ? {} : { error: ds.body.error ?? 'failed' }),
    });
    return page(reply, req, 'decisions', 'Decisions', body);
  });

  app.get('/clients', async (req, reply) => {
    const [devices, counts, sessions, shaper, optout] = await Promise.all([
      ctx.get(clientsRef) ? call<{ devices: LanDevice[] }>(req, 'GET', '/v1/clients') : undefined,
      call<BlockClientsResponse>(req, 'GET', '/v1/blocks/clients?since=24h&fresh=false'),
      running.has('portal') ? call<{ sessions: PortalSessionView[] }>(req, 'GET', '/v1/portal/sessions') : undefined,
      running.has('shaper') ? call<ShaperStatusReport>(req, 'GET', '/v1/shaper/status') : undefined,
      running.has('dns') ? call<DnsOptoutResponse>(req, 'GET', '/v1/dns/optout') : undefined,
    ]);
    const found = devices?.ok ? devices.body.devices : undefined;
    const dns = ctx.config.dns;
    const views = found
      ? deviceViews(found, {
          ...(sessions?.ok ? { sessions: sessions.body.sessions } : {}),
          ...(shaper?.ok ? { shaped: shaper.body.clients } : {}),
          ...(dns && running.has('dns') ? { dnsGroups: deviceGroups(dns, optout?.ok ? optout.body.optout : [], found) } : {}),
        })
      : undefined;
    return page(reply, req, 'clients', 'Clients', clientsPage({ devices: views, blocks: counts.body.clients ?? [], shaper: shaper?.ok === true }));
  });

  // ------------------------------------------------------------------------- htmx actions (fragments)
  const field = (req: FastifyRequest, k: string): string | undefined => {
    const v = (req.body as Record<string, unknown> | undefined)?.[k];
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  app.get('/ui/explain', async (req, reply) => {
    const value = String((req.query as Record<string, unknown>).value ?? '');
    const r = await call<ExplainResponse>(req, 'GET', `/v1/explain/${encodeURIComponent(value)}`);
    return fragment(reply, r.ok ? explainFragment(r.body) : notice(false, r.body.error ?? 'failed'));
  });
  app.post('/ui/allow', async (req, reply) => {
    const value = field(req, 'value') ?? '';
    const reason = field(req, 'reason') ?? `allowed from the dashboard by ${req.webSession!.admin}`;
    const duration = field(req, 'duration');
    const r = await call<{ allow: AllowEntry }>(req, 'POST', '/v1/allow', { value, reason, ...(duration ? { duration } : {}) });
    return fragment(reply, r.ok ? notice(true, `Allowed ${r.body.allow.value}: no decision applies to it now.`, r.body.allow.value) : notice(false, r.body.error ?? 'failed'));
  });
  app.post('/ui/allow/:id/delete', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const r = await call<{ deleted: AllowEntry }>(req, 'DELETE', `/v1/allow/${encodeURIComponent(id)}`);
    return fragment(reply, r.ok ? notice(true, `Removed the allow entry ${r.body.deleted.value}.`, r.body.deleted.value) : notice(false, r.body.error ?? 'failed'));
  });
  app.post('/ui/decisions', async (req, reply) => {
    const value = field(req, 'value') ?? '';
    const direction = field(req, 'direction');
    const duration = field(req, 'duration');
    const reason = field(req, 'reason') ?? `banned from the dashboard by ${req.webSession!.admin}`;
    const r = await call<{ decision: Decision }>(req, 'POST', '/v1/decisions', { value, reason, ...(direction ? { direction } : {}), ...(duration ? { duration } : {}) });
    return fragment(reply, r.ok ? notice(true, `Banned ${r.body.decision.value} (${r.body.decision.direction}).`, r.body.decision.value) : notice(false, r.body.error ?? 'failed'));
  });
  app.post('/ui/decisions/:id/delete', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const r = await call<{ deleted: Decision[] }>(req, 'DELETE', `/v1/decisions/${encodeURIComponent(id)}`);
    const d = r.body.deleted?.[0];
    return fragment(reply, r.ok && d ? notice(true, `Deleted the decision on ${d.value} (${d.origin}).`, d.value) : notice(false, r.body.error ?? 'failed'));
  });

  app.get('/ui/dns-lists', async (req, reply) => {
    if (!running.has('dns')) return fragment(reply, notice(false, 'the DNS filter is off'));
    const [top, blocked, recent, devices] = await Promise.all([
      call<DnsTopResponse>(req, 'GET', '/v1/dns/top?since=24h&limit=5'),
      call<DnsLogResponse>(req, 'GET', '/v1/dns/log?blocked=true&limit=5'),
      call<DnsLogResponse>(req, 'GET', '/v1/dns/log?limit=5'),
      ctx.get(clientsRef) ? call<{ devices: LanDevice[] }>(req, 'GET', '/v1/clients') : undefined,
    ]);
    const names = new Map((devices?.ok ? devices.body.devices : []).flatMap((d) => (d.name ? [...d.ipv4, ...d.ipv6].map((ip) => [ip, d.name!] as const) : [])));
    return fragment(
      reply,
      dnsListsFragment({ names, ...(top.ok ? { top: top.body } : {}), ...(blocked.ok ? { blocked: blocked.body.queries } : {}), ...(recent.ok ? { recent: recent.body.queries } : {}) }),
    );
  });

  app.post('/ui/clients/rename', async (req, reply) => {
    const mac = field(req, 'mac') ?? '';
    const r = await call<{ renamed: { mac: string; name: string } }>(req, 'PUT', `/v1/clients/${encodeURIComponent(mac)}/name`, { name: field(req, 'name') ?? '' });
    return fragment(reply, r.ok ? notice(true, `${r.body.renamed.mac} is now called ${r.body.renamed.name}.`) : notice(false, r.body.error ?? 'failed'));
  });

  // ------------------------------------------------------------------------------------------- live
  app.get('/live', async (req, reply) => {
    const dir = (req.query as Record<string, unknown>).direction;
    const id = req.webSession!.id;
    reply.hijack();
    const stop = startLiveStream(reply.raw, ctx.bus, {
      ...(dir === 'inbound' || dir === 'outbound' ? { direction: dir } : {}),
      alive: () => accounts.session(id) !== undefined,
    });
    stops.add(stop);
    reply.raw.once('close', () => stops.delete(stop));
  });

  const purge = ctx.scheduler.every('web: purge expired sessions', 3600_000, async () => void accounts.purgeExpired());
  const address = await listenOn(app, 'web.listen', cfg.listen);
  if (accounts.count() === 0) ctx.log.warn({}, 'web: no admin account yet: add one with `gatehouse admins add NAME` (password from stdin)');
  ctx.log.info({ address, tls: secure }, 'dashboard listening');
  return {
    status: () => ({ address, tls: secure, admins: accounts.count() }),
    async stop() {
      purge.stop?.();
      for (const s of stops) s();
      await app.close();
    },
  };
}
