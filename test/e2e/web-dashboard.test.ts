/**
 * Issue #13, the dashboard end to end: a lab gateway with web.listen on its LAN address, Debian chromium
 * (playwright-core) on a LAN machine of the lab as the admin's browser, and another LAN client whose
 * connection to a listed site is blocked. What the admin sees and does is what is asserted: the block
 * appears live with its reason, explain says why, allow lets the next attempt through.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { connectFrom, httpGetFrom } from '../../src/lab/probe.js';
import { netnsPath } from '../../src/lab/ns.js';
import { labDnsConfig } from '../../src/lab/gateway-runner.js';
import { labNames } from '../../src/lab/zone.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { digIn, show } from './helpers/dig.js';
import type { Decision } from '../../src/decisions/types.js';

const CHROMIUM = '/usr/bin/chromium';
const OUT = resolve(import.meta.dirname, '..', '..', 'test-output');
const PASSWORD = 'lighthouse-keeper-42';
const PORT = 8080;

/** Headless chromium whose every request leaves from the lab namespace `ns` (a wrapper enters it). */
async function browserIn(ns: string, dir: string): Promise<Browser> {
  netnsPath(ns); // validates the name before it goes into the wrapper
  const wrapper = join(dir, 'chromium-in-ns');
  await writeFile(wrapper, `#!/bin/sh\nexec nsenter --net=${netnsPath(ns)} ${CHROMIUM} "$@"\n`);
  await chmod(wrapper, 0o755);
  return chromium.launch({
    executablePath: wrapper,
    headless: true,
    chromiumSandbox: false,
    timeout: 60_000,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    env: { ...process.env, HOME: dir },
  });
}

async function login(page: Page, base: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('input[name=name]', 'alice');
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

describe('web dashboard in the lab', { skip: skipReason ?? (process.getuid?.() === 0 ? undefined : 'needs root'), timeout: 180_000 }, () => {
  let g: GatewayLab;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let dir: string;
  let base: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-wd-browser-'));
    await mkdir(OUT, { recursive: true });
    g = await GatewayLab.start('wd');
    base = `http://${g.topo.gateway.lanIpv4}:${PORT}`;
    // With the DNS filter on, so the block report can name the domain the client looked up.
    await g.writeConfig({ web: { listen: `${g.topo.gateway.lanIpv4}:${PORT}` }, dns: { ...labDnsConfig(g.topo), workers: 1 } });
    const add = await g.cli(['admins', 'add', 'alice'], `${PASSWORD}\n`);
    assert.equal(add.code, 0, add.stderr);
    await g.startDaemon(40_000);
    // The admin's browser on the second LAN machine; the first is the client that gets blocked.
    browser = await browserIn(g.topo.namespaces.c2, dir);
    ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    page.on('dialog', (d) => void d.accept());
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    if (g) await g.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a wrong password is refused, and no session cookie is set', async () => {
    await login(page, base, 'not-the-password');
    await page.waitForSelector('.error');
    assert.match((await page.textContent('.error')) ?? '', /wrong name or password/i);
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.deepEqual((await ctx.cookies()).filter((c) => c.name === 'gatehouse_session'), []);
  });

  test('an API call without a session is refused', async () => {
    const anon = await browser.newContext();
    const p = await anon.newPage();
    await p.goto(`${base}/login`);
    const r = await p.evaluate(async () => {
      const a = await fetch('/api/v1/decisions');
      const b = await fetch('/api/v1/decisions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: '192.0.2.99' }) });
      return [a.status, b.status];
    });
    await anon.close();
    assert.deepEqual(r, [401, 401]);
    assert.deepEqual(await g.cliJson<Decision[]>(['decisions', 'list']), [], 'nothing was added');
  });

  test('login; a block caused from a LAN client appears live with its reason; explain; allow; the next attempt succeeds', async () => {
    await login(page, base, PASSWORD);
    await page.waitForSelector('#blocks-chart');
    const cookie = (await ctx.cookies()).find((c) => c.name === 'gatehouse_session');
    assert.ok(cookie, 'session cookie set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');

    const phish = g.topo.sites.phishing;
    const c1 = g.topo.namespaces.c1;
    const name = labNames(g.topo).phishing;
    const lookup = await digIn(c1, g.topo.gateway.lanIpv4, name);
    assert.deepEqual([lookup.status, lookup.answers], ['NOERROR', [phish.ipv4]], show(lookup));
    assert.equal((await g.cli(['decisions', 'add', phish.ipv4, '--reason', 'fake amazon login page', '--duration', '1h'])).code, 0);

    await page.click('nav >> text=Blocks');
    await page.waitForSelector('#live-note[data-connected="1"]');
    assert.equal(await page.locator(`tr[data-remote="${phish.ipv4}"]`).count(), 0, 'no row for it before the attempt');

    const blocked = await connectFrom(c1, { host: phish.ipv4, port: phish.httpPort, timeoutMs: 5000, bannerWaitMs: 0 });
    assert.notEqual(blocked.outcome, 'connected', 'the listed site is blocked');

    // Live: the page is not reloaded; the row arrives through the event stream.
    const row = page.locator(`tr[data-remote="${phish.ipv4}"]`).first();
    await row.waitFor({ timeout: 15_000 });
    const text = (await row.textContent()) ?? '';
    assert.match(text, /fake amazon login page/);
    assert.match(text, /alice-laptop/);
    assert.match(text, /outbound/);
    assert.match(text, new RegExp(`looked up as ${name.replace(/\./g, '\\.')}`), 'the domain the client looked up');
    await page.screenshot({ path: join(OUT, 'dashboard-blocks.png'), fullPage: true });
    // The same page on a phone.
    const phone = await ctx.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${base}/blocks`);
    await phone.screenshot({ path: join(OUT, 'dashboard-blocks-phone.png'), fullPage: true });
    await phone.close();

    await row.locator('button', { hasText: 'Explain' }).click();
    await page.waitForSelector('#panel .explain');
    assert.match((await page.textContent('#panel .explain')) ?? '', /listed[\s\S]*fake amazon login page/);

    await row.locator('button', { hasText: 'Allow' }).click();
    await page.waitForSelector('#panel .ok');
    assert.match((await page.textContent('#panel .ok')) ?? '', new RegExp(`Allowed ${phish.ipv4.replace(/\./g, '\\.')}`));

    const after = await httpGetFrom(c1, `http://${phish.ipv4}:${phish.httpPort}/`, 5000);
    assert.equal(after.outcome, 'response', 'the next attempt from the client succeeds');

    await page.click('nav >> text=Overview');
    await page.waitForSelector('#blocks-chart');
    assert.match((await page.textContent('main')) ?? '', new RegExp(`alice-laptop[\\s\\S]*${phish.ipv4.replace(/\./g, '\\.')}`), 'top client and remote');
    await page.screenshot({ path: join(OUT, 'dashboard-overview.png'), fullPage: true });
  });

  test('Clients lists the LAN devices; a rename sticks and names the device in new blocks', async () => {
    const mac = g.topo.clients[0].mac.toLowerCase();
    await page.click('nav >> text=Clients');
    const form = page.locator(`form.rename:has(input[name=mac][value="${mac}"])`);
    await form.waitFor();
    assert.equal(await form.locator('input[name=name]').inputValue(), 'alice-laptop');
    await form.locator('input[name=name]').fill('alice-new-laptop');
    await form.locator('button').click();
    await page.waitForSelector('#panel .ok');
    await page.reload();
    assert.equal(await page.locator(`form.rename:has(input[name=mac][value="${mac}"]) input[name=name]`).inputValue(), 'alice-new-laptop');

    const legit = g.topo.sites.legit;
    assert.equal((await g.cli(['decisions', 'add', legit.ipv4, '--reason', 'rename check', '--duration', '1h'])).code, 0);
    await connectFrom(g.topo.namespaces.c1, { host: legit.ipv4, port: legit.httpPort, timeoutMs: 5000, bannerWaitMs: 0 });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await g.cli(['blocks', '--client', 'alice-new-laptop']);
      if (r.stdout.includes(legit.ipv4)) break;
      if (Date.now() > deadline) assert.fail(`the new name is not in the report:\n${r.stdout}`);
      await new Promise((res) => setTimeout(res, 300));
    }
    assert.equal((await g.cli(['decisions', 'delete', '--origin', 'manual'])).code, 0);
  });

  test('a form post without the CSRF token is refused and changes nothing', async () => {
    const before = await g.cliJson<Decision[]>(['decisions', 'list']);
    const r = await page.evaluate(async () => {
      const form = new URLSearchParams({ value: '192.0.2.77', reason: 'forged' });
      const ui = await fetch('/ui/decisions', { method: 'POST', body: form });
      const api = await fetch('/api/v1/decisions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: '192.0.2.77' }) });
      return [ui.status, api.status];
    });
    assert.deepEqual(r, [403, 403]);
    assert.deepEqual(await g.cliJson<Decision[]>(['decisions', 'list']), before);
  });
});
