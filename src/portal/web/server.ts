import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { readFile } from 'node:fs/promises';
import { isIP, type Socket } from 'node:net';
import { LISTENER_LIMITS, limitedServerFactory, listenOn, ListenError, listenErrorText } from '../../net/listeners.js';
import { parseListenAddress } from '../../net/address.js';
import type { LoginRequest, SessionView } from '../types.js';
import { ownBlocks } from './blocks-view.js';
import { Endings } from './endings.js';
import { CAPTIVE_JSON, captiveState } from './captive-api.js';
import { esc, PAGE_HEADERS } from './html.js';
import { loginPage, messagePage, statusPage, type FormContext, type StatusModel } from './pages.js';
import { refusalText, resolveTexts, type PortalTexts } from './texts.js';
import { cookieValue, setCookieHeader, Tokens } from './tokens.js';
import type { PortalWeb, PortalWebOptions } from './types.js';

/*
 * The portal's listener. It serves two kinds of request:
 * - addressed to the portal itself (Host = the address the connection arrived on): the login and status
 *   pages, logout, the ad-list switch and RFC 8908's /api/captive;
 * - anything else: a LAN device that is not logged in, whose plain-HTTP request the kernel redirected here
 *   (its own page, or an OS probe such as /generate_204). It gets a 302 to the login page with the URL it
 *   wanted, which is how phones and laptops notice the captive portal and pop up the login sheet.
 * Nothing of the admin API or the dashboard is mounted here.
 */

const FORM_LIMIT = 16 * 1024;

/** The client as the portal sees it: IPv4-mapped IPv6 written as IPv4. */
export function clientAddress(req: FastifyRequest): string {
  return plainAddress(req.socket.remoteAddress ?? '');
}

function plainAddress(a: string): string {
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/** Closes connections from addresses the portal does not serve, before a byte of HTTP is read. */
function guard(app: FastifyInstance, o: PortalWebOptions): void {
  const allowed = o.clientAllowed;
  if (!allowed) return;
  let refused = 0;
  app.server.on('connection', (sock: Socket) => {
    const ip = plainAddress(sock.remoteAddress ?? '');
    if (allowed(ip)) return;
    sock.destroy();
    // The first one is worth a line; a scan from the internet is not worth thousands.
    if (refused++ === 0) o.log.warn({ client: ip }, 'portal: connection from outside the captive LAN closed (further ones are not logged)');
  });
}

function hostPart(addr: string): string {
  const a = plainAddress(addr);
  return isIP(a) === 6 ? `[${a}]` : a;
}

/** `http://10.77.0.1:8080`: the portal as this connection reached it (after the kernel's redirect). */
function portalBase(req: FastifyRequest, secure: boolean, port = req.socket.localPort ?? 0): string {
  const scheme = secure ? 'https' : 'http';
  const dflt = secure ? 443 : 80;
  return `${scheme}://${hostPart(req.socket.localAddress ?? '')}${port === dflt ? '' : `:${port}`}`;
}

/** Whether the request names the portal (its address and port) rather than a site it was redirected from. */
function forPortal(req: FastifyRequest, secure: boolean): boolean {
  const host = (req.headers.host ?? '').toLowerCase();
  const local = hostPart(req.socket.localAddress ?? '').toLowerCase();
  const port = req.socket.localPort ?? 0;
  if (host === `${local}:${port}`) return true;
  return host === local && port === (secure ? 443 : 80);
}

function parseForm(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(body)) if (!(k in out)) out[k] = v;
  return out;
}

interface Ctx {
  readonly o: PortalWebOptions;
  readonly t: PortalTexts;
  readonly tokens: Tokens;
  readonly now: () => number;
  readonly endings: Endings;
  /** The https listener's port, when there is one (RFC 8908 prefers the https portal URL). */
  tlsPort?: number;
}

function sendPage(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).headers(PAGE_HEADERS).send(body);
}

/** The form context for this request, setting the cookie when the browser has none yet. */
function formFor(c: Ctx, req: FastifyRequest, reply: FastifyReply, secure: boolean, to?: string): FormContext {
  let cookie = cookieValue(req.headers.cookie, 'gh_portal');
  if (cookie === undefined || !/^[A-Za-z0-9_-]{22,64}$/.test(cookie)) {
    cookie = c.tokens.newCookie();
    reply.header('set-cookie', setCookieHeader(cookie, secure));
  }
  return { csrf: c.tokens.csrf(cookie), ...(to ? { to: { url: to, sig: c.tokens.signTo(to) } } : {}) };
}

function routes(app: FastifyInstance, c: Ctx, secure: boolean): void {
  const { o, t } = c;
  const lang = t.lang;
  const methods = o.config.auth;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT }, (_req, body, done) => {
    done(null, parseForm(body as string));
  });

  const csrfOk = (req: FastifyRequest) => c.tokens.csrfOk(cookieValue(req.headers.cookie, 'gh_portal'), (req.body as Record<string, string> | undefined)?.csrf);
  const form = (req: FastifyRequest): Record<string, string> => (req.body && typeof req.body === 'object' ? (req.body as Record<string, string>) : {});

  // Requests the kernel redirected from elsewhere: to the login page, remembering where they were going.
  app.addHook('onRequest', async (req, reply) => {
    if (forPortal(req, secure)) return;
    const wanted = `${secure ? 'https' : 'http'}://${req.headers.host ?? ''}${req.url}`;
    const base = portalBase(req, secure);
    const to = req.headers.host && wanted.length <= 2048 ? `?to=${encodeURIComponent(wanted)}&sig=${c.tokens.signTo(wanted)}` : '';
    // Connection: close, so the browser does not reuse this connection for the same host after login: it
    // would land here again instead of on the site.
    await reply.code(302).headers({ location: `${base}/login${to}`, 'cache-control': 'no-store', connection: 'close', 'content-type': 'text/html; charset=utf-8' })
      .send(`<!doctype html><title>${esc(t.title)}</title><a href="${esc(base)}/login">${esc(t.title)}</a>\n`);
  });

  app.get('/', async (req, reply) => reply.redirect((await o.sessions.sessionFor(clientAddress(req))) ? '/status' : '/login', 303));

  app.get('/login', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const to = c.tokens.checkedTo(q.to, q.sig);
    const session = await o.sessions.sessionFor(clientAddress(req));
    if (session) {
      return sendPage(reply, 200, messagePage(t, lang, { ok: t.logged_in, links: [...(to ? [{ href: to, text: `${t.continue} ${to}` }] : []), { href: '/status', text: t.status_title }] }));
    }
    const limit = c.endings.limitFor(clientAddress(req));
    return sendPage(reply, 200, loginPage(t, lang, methods, formFor(c, req, reply, secure, to), undefined, undefined, limit ? t[`limit_${limit}`] : undefined));
  });

  app.post('/login', async (req, reply) => {
    const f = form(req);
    const to = c.tokens.checkedTo(f.to, f.sig);
    const again = (status: number, error: string) =>
      sendPage(reply, status, loginPage(t, lang, methods, formFor(c, req, reply, secure, to), error, { username: f.username?.slice(0, 200) }));
    if (!csrfOk(req)) return again(403, t.err_form_expired);
    const method = f.method;
    let login: LoginRequest;
    if (method === 'accounts' && f.username && f.password) login = { method, username: f.username.slice(0, 200), password: f.password.slice(0, 1024) };
    else if (method === 'vouchers' && f.voucher) login = { method, code: f.voucher.trim().slice(0, 200) };
    else if (method === 'click_through') login = { method };
    else return again(400, t.err_missing);
    if (!methods.includes(login.method)) return again(403, t.err_method_off);
    const ip = clientAddress(req);
    const r = await o.sessions.login(login, ip);
    if (!r.ok) {
      o.log.info({ client: ip, method: login.method, reason: r.reason }, 'portal login refused');
      if (r.reason === 'rate_limited' && r.retryAfterSec) reply.header('retry-after', String(Math.ceil(r.retryAfterSec)));
      return again(r.reason === 'rate_limited' ? 429 : 403, refusalText(t, r, login.method));
    }
    c.endings.forget(ip);
    return reply.redirect(to ?? '/status', 303);
  });

  app.post('/logout', async (req, reply) => {
    if (!csrfOk(req)) return sendPage(reply, 403, messagePage(t, lang, { error: t.err_form_expired, links: [{ href: '/status', text: t.status_title }] }));
    await o.sessions.logout(clientAddress(req));
    return sendPage(reply, 200, messagePage(t, lang, { ok: t.logged_out, links: [{ href: '/login', text: t.login }] }));
  });

  app.get('/status', async (req, reply) => {
    const ip = clientAddress(req);
    const session = await o.sessions.sessionFor(ip);
    if (!session) return reply.redirect('/login', 303);
    return sendPage(reply, 200, statusPage(t, lang, await statusModel(c, session), formFor(c, req, reply, secure)));
  });

  app.post('/status/ads', async (req, reply) => {
    const ip = clientAddress(req);
    const session = await o.sessions.sessionFor(ip);
    if (!session) return reply.redirect('/login', 303);
    if (!csrfOk(req) || !o.dns) return sendPage(reply, 403, messagePage(t, lang, { error: t.err_form_expired, links: [{ href: '/status', text: t.status_title }] }));
    const block = form(req).block === 'on';
    // The switch covers the resident's own devices only, by MAC (their addresses change, the MAC less so).
    for (const d of await ownSessions(c, session)) {
      if (block) await o.dns.delete(d.device.mac);
      else await o.dns.add(d.device.mac);
    }
    o.log.info({ client: ip, user: session.user, adsBlocked: block }, 'portal: ad blocking switched by the resident');
    return reply.redirect('/status', 303);
  });

  // RFC 8908: the Captive Portal API. Answered for the asking device only.
  app.get('/api/captive', async (req, reply) => {
    const session = await o.sessions.sessionFor(clientAddress(req));
    const base = c.tlsPort !== undefined ? portalBase(req, true, c.tlsPort) : portalBase(req, secure);
    return reply.code(200).headers({ 'content-type': CAPTIVE_JSON, 'cache-control': 'private, no-store' }).send(Buffer.from(JSON.stringify(captiveState(session, base, c.now()))));
  });

  app.setNotFoundHandler((req, reply) => sendPage(reply, 404, messagePage(t, lang, { error: `${req.method} ${req.url.split('?')[0]}: not found`, links: [{ href: '/login', text: t.title }] })));
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) o.log.error({ err: err.message, client: clientAddress(req), url: req.url }, 'portal page failed');
    return sendPage(reply, status, messagePage(t, lang, { error: status === 500 ? t.err_internal : t.err_missing, links: [{ href: '/login', text: t.title }] }));
  });
}

/** The sessions a status page may show: all of an account's devices; for a voucher or a click-through, this one only. */
async function ownSessions(c: Ctx, session: SessionView): Promise<readonly SessionView[]> {
  // Vouchers and click-throughs have no person behind them: two guests share `guest`, a family shares a
  // voucher. Only an account is one resident.
  if (session.method !== 'accounts') return [session];
  const all = await c.o.sessions.sessionsOf(session.user);
  return all.some((s) => s.id === session.id) ? all : [session, ...all];
}

async function statusModel(c: Ctx, session: SessionView): Promise<StatusModel> {
  const now = c.now();
  const sessions = await ownSessions(c, session);
  const devices = await Promise.all(
    sessions.map(async (s) => ({
      session: s,
      name: (await c.o.deviceName?.(s.device.mac, s.device.ipv4[0] ?? s.device.ipv6[0] ?? '').catch(() => undefined)) ?? s.device.mac,
      current: s.id === session.id,
    })),
  );
  const blocks = c.o.blocks ? ownBlocks(c.o.blocks, devices, now) : undefined;
  const optout = c.o.dns?.list();
  const adsBlocked = optout === undefined ? undefined : !sessions.some((s) => optout.includes(s.device.mac));
  return { session, devices, now, ...(blocks ? { blocks } : {}), ...(adsBlocked === undefined ? {} : { adsBlocked }) };
}

/**
 * Starts the portal's listeners: plain HTTP on `portal.listen` (and `extraListen`), and HTTPS on
 * `portal.tls.listen` when a certificate is configured. Refuses to start (closing what it opened) when a
 * listener or the certificate fails.
 */
export async function startPortalWeb(o: PortalWebOptions): Promise<PortalWeb> {
  const now = o.now ?? Date.now;
  const c: Ctx = { o, t: resolveTexts(o.config.texts), tokens: new Tokens(), now, endings: new Endings(now) };
  const unsubscribe = o.endings?.((e) => c.endings.record(e));
  const limits = o.limits ?? LISTENER_LIMITS['portal.listen'];
  const apps: FastifyInstance[] = [];
  const urls: string[] = [];
  const closeAll = async () => {
    unsubscribe?.();
    await Promise.allSettled(apps.map((a) => a.close()));
  };
  try {
    if (o.config.tls) {
      const tls = o.config.tls;
      // One after the other, so the message names the first file that is wrong.
      const read = (key: 'cert' | 'key') =>
        readFile(tls[key]).catch((e: Error) => {
          throw new ListenError(`portal.tls.${key}: cannot read ${tls[key]}: ${e.message}`);
        });
      const cert = await read('cert');
      const key = await read('key');
      c.tlsPort = parseListenAddress(tls.listen).port;
      const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: FORM_LIMIT, https: { cert, key }, connectionTimeout: limits.idleTimeoutMs, keepAliveTimeout: limits.keepAliveTimeoutMs });
      apps.push(app);
      app.server.maxConnections = limits.maxConnections;
      guard(app, o);
      routes(app, c, true);
      const a = parseListenAddress(tls.listen);
      try {
        await app.listen({ host: a.host, port: a.port });
      } catch (e) {
        throw new ListenError(listenErrorText('portal.listen', `${tls.listen} (portal.tls.listen)`, e));
      }
      const port = (app.server.address() as { port: number }).port;
      c.tlsPort = port;
      urls.push(`https://${isIP(a.host) === 6 ? `[${a.host}]` : a.host}:${port}`);
    }
    for (const where of [o.config.listen, ...(o.config.extraListen ?? [])]) {
      const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: FORM_LIMIT, ...limitedServerFactory('portal.listen', limits, o.log) });
      apps.push(app);
      guard(app, o);
      routes(app, c, false);
      await listenOn(app, 'portal.listen', where);
      const a = parseListenAddress(where);
      urls.push(`http://${isIP(a.host) === 6 ? `[${a.host}]` : a.host}:${(app.server.address() as { port: number }).port}`);
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  o.log.info({ urls }, 'portal pages listening');
  return { urls, close: closeAll };
}
