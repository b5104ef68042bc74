/**
 * Issue #13, the dashboard's module panels end to end (lab prefix wp): a real daemon in a lab gateway with the
 * DNS filter, the captive portal, the shaper and the dashboard on. A resident (c1) logs in to the portal
 * through its form, downloads through the shaped link from the lab's internet and looks up names, one of them
 * on a blocklist. The admin's browser (Debian chromium on c2, whose MAC the portal exempts) then sees on the
 * Overview the session with the user's name, the shaper's row for that user with today's bytes, the DNS
 * panel's counts, the blocked name in its top list and the last queries; on Clients the resident's device with
 * its portal user, DNS group and usage.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import type { ShaperStatusReport } from '../../src/api/index.js';
import { labDnsConfig } from '../../src/lab/gateway-runner.js';
import { spawnInNs } from '../../src/lab/ns.js';
import { labNames } from '../../src/lab/zone.js';
import { digIn, show } from './helpers/dig.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { NsBrowser } from './helpers/ns-browser.js';
import { curlFrom, downloadFrom, downloadSourceScript, until } from './helpers/portal-lab.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'test-output');
const WEB_PORT = 8080;
const PORTAL_PORT = 8880;
const SOURCE_PORT = 8081;
const ADMIN_PASSWORD = 'lighthouse-keeper-42';
const MB = 1e6;

describe('dashboard panels of the DNS filter, the portal and the shaper', { skip: skipReason, timeout: 180_000 }, () => {
  let g: GatewayLab;
  let browser: NsBrowser;
  let page: Page;
  let base: string;
  let voucher: string;

  before(async () => {
    await mkdir(OUT, { recursive: true });
    g = await GatewayLab.start('wp');
    const topo = g.topo;
    const list = join(g.dir, 'ads.txt');
    await writeFile(list, `${labNames(topo).adDomain}\n`);
    base = `http://${topo.gateway.lanIpv4}:${WEB_PORT}`;
    await g.writeConfig({
      web: { listen: `${topo.gateway.lanIpv4}:${WEB_PORT}` },
      dns: {
        ...labDnsConfig(topo),
        workers: 1,
        blocklists: [{ name: 'ads', type: 'file', path: list, format: 'domains' }],
        // Named by MAC: the Clients page has to find the device's addresses to name its group.
        groups: [{ name: 'residents', clients: [topo.clients[0].mac] }],
      },
      // The admin's laptop (c2) is exempt: it reaches the dashboard without a portal login.
      portal: { listen: `[::]:${PORTAL_PORT}`, auth: ['accounts', 'vouchers'], exempt: [topo.clients[1].mac], poll: '1s' },
      shaper: { download: '200mbit', upload: '100mbit' },
    });
    const src = spawnInNs(topo.inet.ns, process.execPath, ['-e', downloadSourceScript(SOURCE_PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((ok, fail) => {
      src.stdout?.once('data', ok);
      src.once('exit', fail);
    });
    assert.equal((await g.cli(['admins', 'add', 'admin'], `${ADMIN_PASSWORD}\n`)).code, 0);
    await g.startDaemon(60_000);
    const add = await g.cli(['users', 'add', 'alice'], 'alice-password\n');
    assert.equal(add.code, 0, add.stderr);
    // A voucher for three devices, not used yet: the portal panel lists what is left of it.
    const made = await g.cli(['vouchers', 'create', '--count', '1', '--uses', '3', '--time', '1h']);
    assert.equal(made.code, 0, made.stderr);
    voucher = /[A-Z0-9]{4}(?:-[A-Z0-9]{4})+/.exec(made.stdout)?.[0] ?? '';
    assert.ok(voucher, made.stdout);
    browser = await NsBrowser.launch(topo.namespaces.c2);
    page = await (await browser.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  });
  after(async () => {
    await browser?.close();
    if (g) await g.close();
  });

  test('a resident logs in, downloads and looks up names; the admin sees it all on Overview and Clients', async () => {
    const topo = g.topo;
    const c1 = topo.clients[0];
    const n = labNames(topo);

    // The resident: the portal's login form (CSRF token and cookie jar, as a browser without JavaScript sends it).
    const jar = join(g.dir, 'jar-c1');
    const portal = `http://${topo.gateway.lanIpv4}:${PORTAL_PORT}`;
    const form = await curlFrom(c1.ns, `${portal}/login`, ['-c', jar, '-b', jar]);
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.body)?.[1];
    assert.ok(csrf, `the login page has a CSRF token: ${form.body.slice(0, 300)}`);
    const login = await curlFrom(c1.ns, `${portal}/login`, ['-c', jar, '-b', jar, ...['method=accounts', 'username=alice', 'password=alice-password', `csrf=${csrf}`].flatMap((f) => ['--data-urlencode', f])]);
    assert.equal(login.http, 303, `logged in: ${login.body.slice(0, 300)}`);

    // Names: two answered, one on the blocklist (the list loads in the worker shortly after the start).
    const shop = await digIn(c1.ns, topo.gateway.lanIpv4, n.legit);
    assert.deepEqual([shop.status, shop.answers], ['NOERROR', [topo.sites.legit.ipv4]], show(shop));
    const ad = await until('the ad name to be blocked', async () => {
      const r = await digIn(c1.ns, topo.gateway.lanIpv4, n.adName);
      return r.status === 'NXDOMAIN' ? r : undefined;
    });
    assert.equal(ad.status, 'NXDOMAIN', show(ad));

    // Traffic through the shaped link, after the login (before it the portal refuses it).
    const dl = await downloadFrom(c1.ns, `http://${topo.sites.legit.ipv4}:${SOURCE_PORT}/?bytes=${20 * MB}`, 30);
    assert.equal(dl.bytes, 20 * MB, `the download went through: curl ${dl.code} ${dl.body}`);
    // The shaper books bytes per tick: wait for the day's count, then look at what the page shows of it.
    const shaped = await until('the shaper to count the download', async () => {
      const s = await g.cliJson<ShaperStatusReport>(['shaper', 'status']);
      const mine = s.clients.find((c) => c.ips.includes(c1.ipv4));
      return mine && mine.bytesToday.down >= 20 * MB ? mine : undefined;
    });
    assert.equal(shaped.user, 'alice', `the share is the portal user's: ${JSON.stringify(shaped)}`);

    // The admin.
    await page.goto(`${base}/login`);
    await page.fill('input[name=name]', 'admin');
    await page.fill('input[name=password]', ADMIN_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('#dns-panel');

    assert.equal(await page.textContent('#portal-panel [data-k=accounts]'), '1 account, 1 signed in now');
    const session = page.locator('#portal-panel tr[data-user="alice"]');
    assert.equal(await session.count(), 1, 'the portal panel lists alice\'s session');
    const sessionText = (await session.textContent()) ?? '';
    assert.match(sessionText, new RegExp(c1.mac.toLowerCase()), sessionText);
    assert.equal(await session.locator('[data-k=state]').textContent(), 'active');
    const sessionBytes = (await session.locator('td').nth(2).textContent()) ?? '';
    assert.match(sessionBytes, /^[1-9][\d.]* MB \//, `the session's download counted: ${sessionBytes}`);

    const share = page.locator('#shaper-panel tr[data-key="user:alice"]');
    assert.equal(await share.count(), 1, 'the shaper panel has alice\'s share');
    assert.match((await share.locator('td').first().textContent()) ?? '', new RegExp(c1.ipv4.replace(/\./g, '\\.')));
    const todayText = (await share.locator('td').nth(2).textContent()) ?? '';
    const today = /^([\d.]+) MB \/ /.exec(todayText);
    assert.ok(today && Number(today[1]) >= 20, `today's download of at least 20 MB: ${todayText}`);

    const dns = page.locator('#dns-panel');
    assert.ok(Number(await dns.locator('[data-k=queries]').textContent()) >= 2, 'queries counted');
    assert.match((await dns.locator('[data-k=blocked]').textContent()) ?? '', /^[1-9]\d* \(\d/, 'blocked > 0 with its share');
    assert.match((await dns.locator('.top-blocked').textContent()) ?? '', new RegExp(n.adName.replace(/\./g, '\\.')), 'the blocked name in the top list');
    const blockedRow = dns.locator('table.dns-blocked tr.blocked', { hasText: n.adName }).first();
    assert.match((await blockedRow.textContent()) ?? '', /alice-laptop[\s\S]*blocked \(list: ads:/, 'the last blocked queries show who and why');
    assert.match((await page.locator('#portal-panel .vouchers').textContent()) ?? '', new RegExp(`${voucher.slice(0, 4)}[\\s\\S]*3 of 3 left`), 'the voucher with its uses left');
    await page.screenshot({ path: join(OUT, 'dashboard-modules.png'), fullPage: true });

    await page.click('nav >> text=Clients');
    const row = page.locator(`#devices tr[data-mac="${c1.mac.toLowerCase()}"]`);
    await row.waitFor();
    assert.equal(await row.locator('[data-k=user]').textContent(), 'alice');
    assert.equal(await row.locator('[data-k=group]').textContent(), 'residents');
    assert.match((await row.locator('[data-k=usage]').textContent()) ?? '', /^[\d.]+ MB \/ .*all of alice's devices/);
    const admin = page.locator(`#devices tr[data-mac="${topo.clients[1].mac.toLowerCase()}"]`);
    assert.deepEqual([await admin.locator('[data-k=user]').textContent(), await admin.locator('[data-k=group]').textContent()], ['—', 'default'], 'the exempt laptop: no user, the default group');
    await page.screenshot({ path: join(OUT, 'dashboard-clients.png'), fullPage: true });
  });
});
