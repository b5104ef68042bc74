import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as ufetch } from 'undici';
import { pino } from 'pino';
import { configFromObject, openAdminAccounts, startDaemon } from '../../src/daemon/index.js';
import type { GatehouseStatus } from '../../src/api/index.js';
import { formatStatus } from '../../src/cli/commands/blocks.js';

const PASSWORD = 'correct horse battery';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** A daemon with only the core modules and the dashboard on loopback (no interfaces: no firewall, no nft). */
async function daemon(t: TestContext, web: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-web-server-'));
  const port = await freePort();
  const config = configFromObject({ data_dir: join(dir, 'data'), web: { listen: `127.0.0.1:${port}`, ...web } }, 'test.yaml', dir);
  const admins = await openAdminAccounts(config.data_dir);
  await admins.accounts.add('alice', PASSWORD);
  const d = await startDaemon(config, { log: pino({ level: 'silent' }) });
  t.after(async () => {
    admins.close();
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { d, admins: admins.accounts, base: `${web.tls ? 'https' : 'http'}://127.0.0.1:${port}` };
}

const insecure = new Agent({ connect: { rejectUnauthorized: false } });
const get = (url: string, init: Parameters<typeof ufetch>[1] = {}) => ufetch(url, { redirect: 'manual', dispatcher: insecure, ...init });
const login = (base: string, password: string) =>
  get(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ name: 'alice', password }).toString() });
const cookieOf = (r: Response | Awaited<ReturnType<typeof ufetch>>) => (r.headers.get('set-cookie') ?? '').split(';')[0]!;

describe('dashboard server', () => {
  it('mounts the admin API under /api behind the login: the same answers the socket gives', async (t) => {
    const { d, base } = await daemon(t);
    assert.equal((await get(`${base}/api/v1/status`)).status, 401);
    const r = await login(base, PASSWORD);
    assert.equal(r.status, 303);
    const cookie = cookieOf(r);
    d.store.service.add({ value: '192.0.2.5', origin: 'manual', reason: 'seen in a phishing mail' });
    const list = (await (await get(`${base}/api/v1/decisions`, { headers: { cookie } })).json()) as { decisions: { value: string; reason: string }[] };
    assert.deepEqual(list.decisions.map((x) => [x.value, x.reason]), [['192.0.2.5', 'seen in a phishing mail']]);
    const page = await (await get(`${base}/decisions`, { headers: { cookie } })).text();
    assert.match(page, /seen in a phishing mail/);
    const logout = await get(`${base}/logout`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: '_csrf=wrong' });
    assert.equal(logout.status, 403, 'even logout needs the token');
    const csrf = /X-CSRF-Token&quot;:&quot;([^&]+)&quot;/.exec(page)![1]!;
    assert.equal((await get(`${base}/logout`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${csrf}` })).status, 303);
    assert.equal((await get(`${base}/api/v1/status`, { headers: { cookie } })).status, 401, 'logged out');
  });

  it('the status lists the dashboard, which starts after the api, with its address, in the API and in `gatehouse status`', async (t) => {
    const { base } = await daemon(t);
    const cookie = cookieOf(await login(base, PASSWORD));
    const status = (await (await get(`${base}/api/v1/status`, { headers: { cookie } })).json()) as GatehouseStatus;
    const web = status.modules.find((m) => m.name === 'web');
    assert.ok(web, `web in ${JSON.stringify(status.modules.map((m) => m.name))}`);
    assert.equal(web.state, 'running');
    assert.equal(web.status?.address, base);
    assert.ok(status.modules.some((m) => m.name === 'api'), 'the api is still listed');
    assert.match(formatStatus(status), new RegExp(`^web\\s+running\\s+address=${base.replace(/\./g, '\\.')} tls=false admins=1$`, 'm'));
  });

  it('limits failed logins per address: the sixth try is refused even with the right password', async (t) => {
    const { base } = await daemon(t);
    for (let i = 0; i < 5; i++) assert.equal((await login(base, `wrong password ${i}`)).status, 401);
    const r = await login(base, PASSWORD);
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    assert.equal(r.headers.get('set-cookie'), null);
  });

  it('a password changed from the CLI ends the sessions made with the old one', async (t) => {
    const { base, admins } = await daemon(t);
    const cookie = cookieOf(await login(base, PASSWORD));
    assert.equal((await get(`${base}/api/v1/status`, { headers: { cookie } })).status, 200);
    await admins.passwd('alice', 'a brand new password');
    assert.equal((await get(`${base}/api/v1/status`, { headers: { cookie } })).status, 401);
    assert.equal((await get(`${base}/`, { headers: { cookie } })).headers.get('location'), '/login', 'a page sends to the login');
  });

  it('with tls: self_signed it speaks HTTPS with a certificate kept in data_dir, and the cookie is Secure', async (t) => {
    const { base } = await daemon(t, { tls: 'self_signed' });
    const r = await login(base, PASSWORD);
    assert.equal(r.status, 303);
    assert.match(r.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict; Max-Age=\d+; Secure/);
    await assert.rejects(ufetch(`${base}/login`), 'not trusted by default: a self-signed certificate');
    await assert.rejects(fetch(base.replace('https', 'http') + '/login'), 'no plain HTTP on the TLS port');
  });
});
