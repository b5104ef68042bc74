/**
 * The portal's pages over real HTTP on loopback, with a small in-memory session manager standing in for
 * p2's (the web part only talks to the PortalSessions interface), the real block report store (SQLite)
 * and the DNS filter's real opt-out repository.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPortalWeb, type PortalWeb, type PortalWebConfig } from '../../src/portal/web/index.js';
import type { LoginRequest, LoginResult, PortalSessions, SessionView } from '../../src/portal/types.js';
import { BlockEventRepo, openDb, type Db } from '../../src/store/index.js';
import { dnsMigrations } from '../../src/dns/index.js';
import { OptoutRepo } from '../../src/dns/optout.js';

const HOUR = 3600_000;

/** Accounts alice/wonderland (2 devices allowed), voucher GOOD-1 (one use), click-through; 3 failures → wait 42 s. */
class MemorySessions implements PortalSessions {
  readonly byIp = new Map<string, SessionView>();
  failures = 0;
  /** The device "behind" each address, as the neighbour table would say. */
  readonly macs = new Map<string, string>();
  private n = 0;
  constructor(private readonly now: () => number) {}

  async login(req: LoginRequest, clientIp: string): Promise<LoginResult> {
    if (this.failures >= 3) return { ok: false, reason: 'rate_limited', retryAfterSec: 42 };
    const mac = this.macs.get(clientIp);
    if (!mac) return { ok: false, reason: 'unknown_client' };
    let user: string;
    if (req.method === 'accounts') {
      if (req.username !== 'alice' || req.password !== 'wonderland') {
        this.failures++;
        return { ok: false, reason: 'bad_credentials' };
      }
      user = 'alice';
    } else if (req.method === 'vouchers') {
      if (req.code !== 'GOOD-1' || [...this.byIp.values()].some((s) => s.user === 'voucher:GOOD')) return { ok: false, reason: 'bad_credentials' };
      user = 'voucher:GOOD';
    } else user = 'guest';
    const t = this.now();
    const session: SessionView = {
      id: `s${++this.n}`,
      user,
      method: req.method,
      device: { mac, ipv4: clientIp.includes(':') ? [] : [clientIp], ipv6: clientIp.includes(':') ? [clientIp] : [] },
      startedAt: t,
      endsAt: t + 8 * HOUR,
      lastActivity: t,
      bytesDown: 1_500_000,
      bytesUp: 20_000,
      downloadLeft: 4_000_000_000,
      uploadLeft: 900_000_000,
      state: 'active',
    };
    this.byIp.set(clientIp, session);
    return { ok: true, session };
  }
  async logout(clientIp: string): Promise<void> {
    this.byIp.delete(clientIp);
  }
  async sessionFor(clientIp: string): Promise<SessionView | undefined> {
    return this.byIp.get(clientIp);
  }
  async sessionsOf(user: string): Promise<readonly SessionView[]> {
    return [...this.byIp.values()].filter((s) => s.user === user);
  }
  /** A session of someone else, on another address. */
  put(ip: string, s: Partial<SessionView> & { user: string; method: SessionView['method']; mac: string }): void {
    const t = this.now();
    this.byIp.set(ip, {
      id: `s${++this.n}`, user: s.user, method: s.method, device: { mac: s.mac, ipv4: [ip], ipv6: [] },
      startedAt: t, endsAt: t + HOUR, lastActivity: t, bytesDown: 0, bytesUp: 0, state: 'active',
    });
  }
}

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(base: string, method: string, path: string, opts: { host?: string; cookie?: string; form?: Record<string, string>; localAddress?: string } = {}): Promise<Res> {
  const u = new URL(path, base);
  const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
  const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {
    method,
    agent: false,
    rejectUnauthorized: false,
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    headers: {
      host: opts.host ?? u.host,
      ...(opts.cookie ? { cookie: opts.cookie } : {}),
      ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) } : {}),
    },
  });
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A browser's memory: the portal cookie and the CSRF field of the last page. */
class Browser {
  cookie: string | undefined;
  constructor(readonly base: string, readonly localAddress = '127.0.0.1') {}
  async get(path: string, host?: string): Promise<Res> {
    const r = await call(this.base, 'GET', path, { ...(host ? { host } : {}), ...(this.cookie ? { cookie: this.cookie } : {}), localAddress: this.localAddress });
    const sc = r.headers['set-cookie'];
    if (sc) this.cookie = String(Array.isArray(sc) ? sc[0] : sc).split(';')[0];
    return r;
  }
  async post(path: string, form: Record<string, string>): Promise<Res> {
    return call(this.base, 'POST', path, { form, ...(this.cookie ? { cookie: this.cookie } : {}), localAddress: this.localAddress });
  }
}

const field = (body: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(body)?.[1];
const PROBES = ['/hotspot-detect.html', '/generate_204', '/gen_204', '/connecttest.txt', '/ncsi.txt', '/success.txt'];

describe('portal web: pages, captive redirect, RFC 8908', () => {
  let clock = Date.UTC(2026, 11, 1, 20, 0, 0);
  const now = () => clock;
  const sessions = new MemorySessions(now);
  let web: PortalWeb;
  let base: string;
  let dir: string;
  let db: Db;
  let blocks: BlockEventRepo;
  let optout: OptoutRepo;
  const logged: string[] = [];
  const log = { info: (_o: object, m: string) => void logged.push(m), warn: (_o: object, m: string) => void logged.push(m), error: (_o: object, m: string) => void logged.push(m) };
  const config: PortalWebConfig = { listen: '127.0.0.1:0', auth: ['accounts', 'vouchers', 'click_through'] };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portal-web-'));
    db = openDb(dir, 'gatehouse.db', [dnsMigrations]);
    blocks = new BlockEventRepo(db);
    optout = new OptoutRepo(db);
    sessions.macs.set('127.0.0.1', '02:77:00:00:00:10');
    sessions.macs.set('127.0.0.2', '02:77:00:00:00:20');
    web = await startPortalWeb({
      sessions,
      config,
      blocks,
      dns: { list: () => optout.list(), add: async (c) => optout.add(c), delete: async (c) => optout.delete(c) },
      deviceName: async (mac) => (mac === '02:77:00:00:00:10' ? 'alice-laptop' : undefined),
      log,
      now,
    });
    base = web.urls[0]!;
  });

  after(async () => {
    await web?.close();
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a redirected request (any host, any OS probe path) gets a 302 to the login page with where it was going, and no keep-alive', async () => {
    for (const path of ['/', '/some/page?q=1', ...PROBES]) {
      const r = await call(base, 'GET', path, { host: 'shop.example' });
      assert.equal(r.status, 302, path);
      const loc = new URL(String(r.headers.location));
      assert.equal(`${loc.protocol}//${loc.host}`, base);
      assert.equal(loc.pathname, '/login');
      assert.equal(loc.searchParams.get('to'), `http://shop.example${path}`);
      assert.equal(r.headers.connection, 'close');
      assert.equal(r.headers['cache-control'], 'no-store');
    }
    // An Android probe must not get its 204 here, nor Apple its "Success": that is how they notice the portal.
    const apple = await call(base, 'GET', '/hotspot-detect.html', { host: 'captive.apple.com' });
    assert.ok(!apple.body.includes('Success'));
  });

  it('the login page: every enabled form, CSRF field, HttpOnly SameSite cookie, mobile viewport, no script', async () => {
    const b = new Browser(base);
    const r = await b.get('/login');
    assert.equal(r.status, 200);
    const cookie = String(r.headers['set-cookie']);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.doesNotMatch(cookie, /Secure/, 'plain http: a Secure cookie would never come back');
    for (const name of ['username', 'password', 'voucher', 'csrf']) assert.match(r.body, new RegExp(`name="${name}"`));
    assert.match(r.body, /value="click_through"/);
    assert.match(r.body, /name="viewport"/);
    assert.doesNotMatch(r.body, /<script/i);
    assert.match(String(r.headers['content-security-policy']), /default-src 'none'/);
  });

  it('a login without the CSRF field, or with another browser’s, is refused and logs nobody in', async () => {
    const b = new Browser(base);
    await b.get('/login');
    const r1 = await b.post('/login', { method: 'accounts', username: 'alice', password: 'wonderland' });
    assert.equal(r1.status, 403);
    assert.match(r1.body, /form expired/);
    const other = new Browser(base);
    const page = await other.get('/login');
    const r2 = await b.post('/login', { method: 'accounts', username: 'alice', password: 'wonderland', csrf: field(page.body, 'csrf')! });
    assert.equal(r2.status, 403);
    assert.equal(await sessions.sessionFor('127.0.0.1'), undefined);
  });

  it('wrong password: a clear message; after repeated failures, how long to wait (429, Retry-After); user text escaped', async () => {
    const b = new Browser(base);
    const csrf = field((await b.get('/login')).body, 'csrf')!;
    const bad = await b.post('/login', { csrf, method: 'accounts', username: '<script>alert(1)</script>', password: 'x' });
    assert.equal(bad.status, 403);
    assert.match(bad.body, /Wrong username or password/);
    assert.doesNotMatch(bad.body, /<script>alert/);
    assert.match(bad.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    await b.post('/login', { csrf, method: 'accounts', username: 'alice', password: 'no' });
    await b.post('/login', { csrf, method: 'accounts', username: 'alice', password: 'no' });
    const limited = await b.post('/login', { csrf, method: 'accounts', username: 'alice', password: 'wonderland' });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['retry-after'], '42');
    assert.match(limited.body, /Wait 42 s/);
    sessions.failures = 0;
  });

  it('RFC 8908: captive before login; after login captive=false with time and bytes left; the login goes back where the device was going', async () => {
    const before = await call(base, 'GET', '/api/captive');
    assert.equal(before.headers['content-type'], 'application/captive+json');
    assert.deepEqual(JSON.parse(before.body), { captive: true, 'user-portal-url': `${base}/login` });

    const b = new Browser(base);
    const redirected = await call(base, 'GET', '/generate_204', { host: 'connectivitycheck.example' });
    const loc = new URL(String(redirected.headers.location));
    const page = await b.get(loc.pathname + loc.search);
    assert.equal(field(page.body, 'to'), 'http://connectivitycheck.example/generate_204');
    const r = await b.post('/login', { csrf: field(page.body, 'csrf')!, to: field(page.body, 'to')!, sig: field(page.body, 'sig')!, method: 'accounts', username: 'alice', password: 'wonderland' });
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, 'http://connectivitycheck.example/generate_204');

    clock += 60_000;
    const afterLogin = JSON.parse((await call(base, 'GET', '/api/captive')).body) as Record<string, unknown>;
    assert.equal(afterLogin.captive, false);
    assert.equal(afterLogin['seconds-remaining'], 8 * 3600 - 60);
    assert.equal(afterLogin['bytes-remaining'], 900_000_000, 'what runs out first: the upload allowance');
    assert.equal(afterLogin['can-extend-session'], false);
    // Another device asking the same API is still captive: the answer is per device.
    const other = JSON.parse((await call(base, 'GET', '/api/captive', { localAddress: '127.0.0.2' })).body) as Record<string, unknown>;
    assert.equal(other.captive, true);
  });

  it('a "to" whose signature does not match is not followed (no open redirect): the status page instead', async () => {
    await sessions.logout('127.0.0.1');
    const b = new Browser(base);
    const page = await b.get('/login?to=http%3A%2F%2Fevil.example%2F&sig=AAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(field(page.body, 'to'), undefined);
    const r = await b.post('/login', { csrf: field(page.body, 'csrf')!, to: 'http://evil.example/', sig: 'AAAAAAAAAAAAAAAAAAAAAA', method: 'accounts', username: 'alice', password: 'wonderland' });
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, '/status');
  });

  it('the status page: time and bytes left, own devices only, own blocks with the list, ad switch for own devices', async () => {
    clock += 90_000;
    // Another resident (bob) on another address, with his own block.
    sessions.put('127.0.0.3', { user: 'bob', method: 'accounts', mac: '02:77:00:00:00:30' });
    const decisions = [{ id: 7, origin: 'phishing_db', scenario: '', reason: 'fake amazon login page' }];
    const hit = (clientIp: string, clientMac: string | null, remoteIp: string, seenAt: number, domain?: string) =>
      ({ direction: 'outbound' as const, clientIp, clientMac, clientName: null, remoteIp, protocol: 'tcp', port: 443, mode: 'blocked' as const, seenAt, packets: 2, bytes: 120, decisions, ...(domain ? { domain } : {}) });
    const session = (await sessions.sessionFor('127.0.0.1'))!;
    blocks.record([
      hit('127.0.0.1', '02:77:00:00:00:10', '203.0.113.66', clock, 'amazon-signin.example'),
      hit('127.0.0.3', '02:77:00:00:00:30', '203.0.113.99', clock, 'bobs-secret.example'),
      // Same address as alice now, but before her session and without a MAC: maybe someone else's.
      hit('127.0.0.1', null, '203.0.113.77', session.startedAt - HOUR, 'before-alice.example'),
    ]);
    const b = new Browser(base);
    const r = await b.get('/status');
    assert.equal(r.status, 200);
    assert.match(r.body, /id="time-left">7 h 58 min</);
    assert.match(r.body, /id="download-left">4.00 GB</);
    assert.match(r.body, /alice-laptop/);
    assert.match(r.body, /alice-laptop<\/strong> tried to reach 203\.0\.113\.66 \(amazon-signin\.example\), port 443\/tcp, which is listed by phishing_db \(fake amazon login page\)/);
    assert.doesNotMatch(r.body, /bobs-secret|203\.0\.113\.99|02:77:00:00:00:30|before-alice/);
    assert.match(r.body, /Ads and trackers are blocked/);

    const off = await b.post('/status/ads', { csrf: field(r.body, 'csrf')!, block: 'off' });
    assert.equal(off.status, 303);
    assert.deepEqual(optout.list(), ['02:77:00:00:00:10']);
    assert.match((await b.get('/status')).body, /Ads are not blocked/);
    const on = await b.post('/status/ads', { csrf: field(r.body, 'csrf')!, block: 'on' });
    assert.equal(on.status, 303);
    assert.deepEqual(optout.list(), []);
    // Without the CSRF field the switch does nothing.
    assert.equal((await b.post('/status/ads', { block: 'off' })).status, 403);
    assert.deepEqual(optout.list(), []);
  });

  it('guests (click-through) see their own device only, never the other guests', async () => {
    sessions.put('127.0.0.4', { user: 'guest', method: 'click_through', mac: '02:77:00:00:00:40' });
    const g = new Browser(base, '127.0.0.2');
    const csrf = field((await g.get('/login')).body, 'csrf')!;
    assert.equal((await g.post('/login', { csrf, method: 'click_through' })).status, 303);
    const st = await g.get('/status');
    assert.match(st.body, /02:77:00:00:00:20/);
    assert.doesNotMatch(st.body, /02:77:00:00:00:40/);
  });

  it('logout needs the form’s CSRF field and ends the session; /status then sends to the login page', async () => {
    const b = new Browser(base);
    const st = await b.get('/status');
    assert.equal((await b.post('/logout', {})).status, 403);
    assert.ok(await sessions.sessionFor('127.0.0.1'));
    const out = await b.post('/logout', { csrf: field(st.body, 'csrf')! });
    assert.equal(out.status, 200);
    assert.match(out.body, /You are logged out/);
    assert.equal(await sessions.sessionFor('127.0.0.1'), undefined);
    const again = await b.get('/status');
    assert.equal(again.status, 303);
    assert.equal(again.headers.location, '/login');
  });

  it('the portal listener serves no admin API or dashboard routes', async () => {
    for (const p of ['/v1/status', '/v1/decisions', '/v1/portal/sessions', '/dashboard']) {
      const r = await call(base, 'GET', p);
      assert.equal(r.status, 404, p);
      assert.doesNotMatch(r.body, /"decisions"|"modules"/);
    }
  });
});

describe('portal web: texts, TLS, refused starts', () => {
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const sessions = new MemorySessions(Date.now);

  it('portal.texts replace the English defaults (escaped); methods not configured are not offered and refused', async () => {
    const web = await startPortalWeb({ sessions, log, config: { listen: '127.0.0.1:0', auth: ['vouchers'], texts: { lang: 'de', title: 'Netz-Anmeldung <b>', voucher: 'Gutscheincode' } } });
    try {
      const b = new Browser(web.urls[0]!);
      const r = await b.get('/login');
      assert.match(r.body, /<html lang="de">/);
      assert.match(r.body, /<h1>Netz-Anmeldung &lt;b&gt;<\/h1>/);
      assert.match(r.body, /Gutscheincode/);
      assert.doesNotMatch(r.body, /name="password"/);
      const refused = await b.post('/login', { csrf: field(r.body, 'csrf')!, method: 'accounts', username: 'alice', password: 'wonderland' });
      assert.equal(refused.status, 403);
      assert.match(refused.body, /turned off/);
    } finally {
      await web.close();
    }
  });

  it('each refusal says what happened and what to do (limit reached names the limit; unknown device; too many devices)', async () => {
    const answers: LoginResult[] = [
      { ok: false, reason: 'limit_reached', limit: 'daily' },
      { ok: false, reason: 'unknown_client' },
      { ok: false, reason: 'too_many_devices' },
      { ok: false, reason: 'bad_credentials' },
    ];
    const refusing: PortalSessions = {
      login: async () => answers.shift()!,
      logout: async () => undefined,
      sessionFor: async () => undefined,
      sessionsOf: async () => [],
    };
    const web = await startPortalWeb({ sessions: refusing, log, config: { listen: '127.0.0.1:0', auth: ['accounts', 'vouchers'] } });
    try {
      const b = new Browser(web.urls[0]!);
      const csrf = field((await b.get('/login')).body, 'csrf')!;
      const post = (f: Record<string, string>) => b.post('/login', { csrf, ...f });
      assert.match((await post({ method: 'accounts', username: 'a', password: 'b' })).body, /daily allowance is used up\. It renews tomorrow/);
      assert.match((await post({ method: 'accounts', username: 'a', password: 'b' })).body, /not known on this network yet\. Reconnect/);
      assert.match((await post({ method: 'accounts', username: 'a', password: 'b' })).body, /too many devices\. Log out on one of them/);
      assert.match((await post({ method: 'vouchers', voucher: 'X' })).body, /voucher code is not valid or is used up/);
      const empty = await post({ method: 'accounts', username: 'a' });
      assert.equal(empty.status, 400);
      assert.match(empty.body, /fill in the form/);
    } finally {
      await web.close();
    }
  });

  it('a device sent back by a limit is told which one on the login page; a logout or a new login clears it', async () => {
    let emit: ((e: { ips: readonly string[]; reason: string; at: number }) => void) | undefined;
    const mem = new MemorySessions(Date.now);
    mem.macs.set('127.0.0.1', '02:77:00:00:00:10');
    const web = await startPortalWeb({ sessions: mem, log, config: { listen: '127.0.0.1:0', auth: ['click_through'] }, endings: (fn) => ((emit = fn), () => (emit = undefined)) });
    try {
      const b = new Browser(web.urls[0]!);
      emit!({ ips: ['127.0.0.1', 'fd77::10'], reason: 'session_download', at: Date.now() });
      const page = await b.get('/login');
      assert.match(page.body, /id="ended">Your download allowance for this session is used up\./);
      assert.doesNotMatch((await call(web.urls[0]!, 'GET', '/login', { localAddress: '127.0.0.2' })).body, /id="ended"/, 'another device is not told');
      emit!({ ips: ['127.0.0.1'], reason: 'logout', at: Date.now() });
      assert.doesNotMatch((await b.get('/login')).body, /id="ended"/);
      emit!({ ips: ['127.0.0.1'], reason: 'daily', at: Date.now() });
      const again = await b.get('/login');
      assert.match(again.body, /daily allowance is used up/);
      assert.equal((await b.post('/login', { csrf: field(again.body, 'csrf')!, method: 'click_through' })).status, 303);
      await mem.logout('127.0.0.1');
      assert.doesNotMatch((await b.get('/login')).body, /id="ended"/);
    } finally {
      await web.close();
    }
    assert.equal(emit, undefined, 'unsubscribed at close');
  });

  it('connections from outside the captive LAN (clientAllowed) are closed before any page is served', async () => {
    const warned: string[] = [];
    const web = await startPortalWeb({
      sessions, config: { listen: '127.0.0.1:0', auth: ['click_through'] }, clientAllowed: (ip) => ip === '127.0.0.1',
      log: { ...log, warn: (_o: object, m: string) => void warned.push(m) },
    });
    try {
      assert.equal((await call(web.urls[0]!, 'GET', '/login')).status, 200);
      await assert.rejects(call(web.urls[0]!, 'GET', '/login', { localAddress: '127.0.0.2' }), /ECONNRESET|socket hang up/);
      await assert.rejects(call(web.urls[0]!, 'GET', '/api/captive', { localAddress: '127.0.0.3' }), /ECONNRESET|socket hang up/);
      assert.equal(warned.length, 1, 'logged once, not per connection');
    } finally {
      await web.close();
    }
  });

  it('with portal.tls, RFC 8908 is served over HTTPS too and names the https portal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portal-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const web = await startPortalWeb({ sessions, log, config: { listen: '127.0.0.1:0', auth: ['click_through'], tls: { listen: '127.0.0.1:0', cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } } });
      try {
        const https = web.urls.find((u) => u.startsWith('https:'))!;
        const http = web.urls.find((u) => u.startsWith('http:'))!;
        const r = await call(https, 'GET', '/api/captive');
        assert.equal(r.headers['content-type'], 'application/captive+json');
        assert.deepEqual(JSON.parse(r.body), { captive: true, 'user-portal-url': `${https}/login` });
        const plain = JSON.parse((await call(http, 'GET', '/api/captive')).body) as Record<string, unknown>;
        assert.equal(plain['user-portal-url'], `${https}/login`);
        const page = await call(https, 'GET', '/login');
        assert.match(String(page.headers['set-cookie']), /; Secure/);
      } finally {
        await web.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing certificate or a taken port refuses the start with the key named, leaving nothing listening', async () => {
    await assert.rejects(startPortalWeb({ sessions, log, config: { listen: '127.0.0.1:0', auth: ['click_through'], tls: { listen: '127.0.0.1:0', cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' } } }), /portal\.tls\.cert: cannot read \/nonexistent\/cert\.pem/);
    const first = await startPortalWeb({ sessions, log, config: { listen: '127.0.0.1:0', auth: ['click_through'] } });
    try {
      const taken = first.urls[0]!.replace('http://', '');
      await assert.rejects(startPortalWeb({ sessions, log, config: { listen: '127.0.0.1:0', extraListen: [taken], auth: ['click_through'] } }), /portal\.listen: .* is already in use/);
    } finally {
      await first.close();
    }
  });
});
