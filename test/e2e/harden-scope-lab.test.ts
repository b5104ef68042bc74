import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { httpGetFrom } from '../../src/lab/probe.js';
import { nsExec } from '../../src/lab/ns.js';
import { siteUrl } from '../../src/lab/topology.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import type { Decision } from '../../src/decisions/types.js';
import type { FeedStatus } from '../../src/feeds/index.js';

/*
 * Issue #8, findings 3 and 5, in the lab: a watcher, the admin and an out-of-band delete cannot switch
 * the protection off or cut the LAN off, and a feed's decisions come back on the next refresh.
 */

const PASSWORD = 'h3-watcher-passw0rd-long-enough';

describe('harden: watchers, feeds and the admin cannot switch the protection off', { skip: skipReason, timeout: 300_000 }, () => {
  let g: GatewayLab;
  let token: string;
  let lapiBase: string;

  /** An HTTP call to the LAPI from LAN client c1, as a watcher on the LAN would make it. */
  async function lapi(method: string, path: string, body?: string, auth = true): Promise<{ status: number; body: string }> {
    const args = ['-sS', '-m', '5', '-o', '-', '-w', '\n%{http_code}', '-X', method, '-H', 'Content-Type: application/json'];
    if (auth) args.push('-H', `Authorization: Bearer ${token}`);
    if (body !== undefined) args.push('--data-binary', body);
    const r = await nsExec(g.topo.namespaces.c1, 'curl', [...args, `${lapiBase}${path}`]);
    const nl = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(nl + 1)), body: r.stdout.slice(0, nl) };
  }

  /** HTTP status c1 gets from a site, or the probe's outcome when nothing answered (blocked). */
  async function reach(site: 'legit' | 'phishing', family: 4 | 6): Promise<number | string> {
    const r = await httpGetFrom(g.topo.namespaces.c1, siteUrl(g.topo.sites[site], family), 3000);
    return r.status ?? r.outcome;
  }

  before(async () => {
    g = await GatewayLab.start('n6sc');
    const t = g.topo;
    const list = join(g.dir, 'local-feed.txt');
    await writeFile(list, `# a local list\n${t.sites.phishing.ipv4}\n203.0.113.200\n`);
    await g.writeConfig({
      feeds: [{ name: 'local', type: 'file', path: list, format: 'plain', direction: 'outbound', refresh: '1h' }],
      lapi: { listen: `${t.gateway.lanIpv4}:8081`, profile: { duration: '4h', direction: 'both' } },
    });
    await g.startDaemon();
    lapiBase = `http://${t.gateway.lanIpv4}:8081`;
    const add = await g.cli(['machines', 'add', 'h3w', '--password', PASSWORD]);
    assert.equal(add.code, 0, add.stderr);
    const login = await lapi('POST', '/v1/watchers/login', JSON.stringify({ machine_id: 'h3w', password: PASSWORD }), false);
    assert.equal(login.status, 200, login.body);
    token = (JSON.parse(login.body) as { token: string }).token;
    // The feed loads at start; wait for it so the tests below start from an enforced list.
    for (let i = 0; i < 100 && (await g.cliJson<FeedStatus[]>(['feeds', 'list']))[0]?.entries !== 2; i++) await new Promise((r) => setTimeout(r, 100));
  });
  after(async () => {
    await g?.close();
  });

  test('alerts banning 0.0.0.0/0, ::/0, the LAN, the gateway and 128.0.0.0/1 are refused: the LAN still reaches the internet', async () => {
    const t = g.topo;
    assert.equal(await reach('legit', 4), 200);
    assert.equal(await reach('legit', 6), 200);
    const bad = ['0.0.0.0/0', '::/0', t.networks.lan4, t.gateway.wanIpv4, '128.0.0.0/1'];
    const alert = JSON.stringify([
      {
        scenario: 'h3/scan',
        remediation: true,
        source: { scope: 'Ip', value: '203.0.113.99' },
        decisions: [...bad, '203.0.113.99'].map((value) => ({ origin: 'crowdsec', type: 'ban', scope: value.includes('/') ? 'Range' : 'Ip', value, duration: '1h', scenario: 'h3/scan' })),
      },
    ]);
    const r = await lapi('POST', '/v1/alerts', alert);
    assert.equal(r.status, 201, r.body);
    assert.match(r.body, /^\["\d+"\]$/);
    assert.equal(await reach('legit', 4), 200, 'the LAN client still reaches the legit server over IPv4');
    assert.equal(await reach('legit', 6), 200, 'and over IPv6');
    const mine = await g.cliJson<Decision[]>(['decisions', 'list', '--origin', 'lapi:h3w']);
    assert.deepEqual(mine.map((d) => d.value), ['203.0.113.99'], 'only the ordinary address became a decision');
    assert.equal((await lapi('GET', '/v1/heartbeat')).status, 200, 'and the gateway itself');
    assert.match(await g.log(), /refused 5 decision\(s\) \(5 since start\): 0\.0\.0\.0\/0 covers every IPv4 address.*10\.77\.0\.0\/24 overlaps the LAN network.*192\.0\.2\.2 covers this gateway's own address 192\.0\.2\.2 \(wan0\).*128\.0\.0\.0\/1 covers half/);
  });

  test("a watcher's unfiltered DELETE removes only its own decisions: manual and feed ones stay enforced", async () => {
    const t = g.topo;
    // This test's own starting point: exactly one decision of the watcher's and one manual one.
    for (const origin of ['lapi:h3w', 'manual']) assert.equal((await g.cli(['decisions', 'delete', '--origin', origin])).code, 0);
    const own = { origin: 'crowdsec', type: 'ban', scope: 'Ip', value: '203.0.113.98', duration: '1h', scenario: 'h3/scan' };
    const pushed = await lapi('POST', '/v1/alerts', JSON.stringify([{ scenario: 'h3/scan', remediation: true, source: { scope: 'Ip', value: own.value }, decisions: [own] }]));
    assert.equal(pushed.status, 201, pushed.body);
    const manual = await g.cli(['decisions', 'add', t.sites.phishing.ipv6, '--reason', 'phishing over IPv6']);
    assert.equal(manual.code, 0, manual.stderr);
    assert.notEqual(await reach('phishing', 4), 200, 'the feed blocks the phishing site over IPv4');
    assert.notEqual(await reach('phishing', 6), 200, 'the manual decision blocks it over IPv6');

    const r = await lapi('DELETE', '/v1/decisions');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, '{"nbDeleted":"1"}', 'its own 203.0.113.98 only');
    const other = await lapi('DELETE', '/v1/decisions?origin=manual');
    assert.equal(other.status, 403);
    assert.match(other.body, /lapi\.machines/);

    assert.equal((await g.cliJson<Decision[]>(['decisions', 'list', '--origin', 'manual'])).length, 1);
    assert.equal((await g.cliJson<Decision[]>(['decisions', 'list', '--origin', 'feed:local'])).length, 2);
    assert.notEqual(await reach('phishing', 4), 200, 'the feed decision is still enforced');
    assert.notEqual(await reach('phishing', 6), 200, 'the manual decision is still enforced');
  });

  test('feed decisions removed another way come back on the next refresh, though the file did not change', async () => {
    const del = await g.cli(['decisions', 'delete', '--origin', 'feed:local']);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(await reach('phishing', 4), 200, 'removed from the kernel');
    assert.equal((await g.cliJson<FeedStatus[]>(['feeds', 'list']))[0]?.entries, 0, 'feeds list counts what the store holds');

    const r = await g.cli(['feeds', 'refresh', 'local', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as FeedStatus[])[0]?.entries, 2);
    assert.notEqual(await reach('phishing', 4), 200, 'enforced again');
    assert.match(await g.log(), /the store holds 0 of its 2 entries/);
  });

  test('decisions add and allow add of 0.0.0.0/0 are refused without --force, saying what they would do, and taken with it', async () => {
    const ban = await g.cli(['decisions', 'add', '0.0.0.0/0']);
    assert.notEqual(ban.code, 0);
    assert.match(ban.stderr, /0\.0\.0\.0\/0 covers every IPv4 address: it would cut the LAN and this gateway off the internet; add --force if you mean it/);
    assert.notEqual((await g.cli(['decisions', 'add', '::/0'])).code, 0);
    assert.equal(await reach('legit', 4), 200);

    const importFile = join(g.dir, 'import.txt');
    await writeFile(importFile, '203.0.113.201\n0.0.0.0/0\n');
    const imp = await g.cliJson<{ added: number; skipped: number; skippedSamples: { line: number; why: string }[] }>(['decisions', 'import', importFile]);
    assert.deepEqual([imp.added, imp.skipped], [1, 1]);
    assert.match(imp.skippedSamples[0]?.why ?? '', /^0\.0\.0\.0\/0 covers every IPv4 address/);
    assert.equal(await reach('legit', 4), 200);

    const forced = await g.cli(['decisions', 'add', '0.0.0.0/0', '--force', '--direction', 'outbound']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(await reach('legit', 4), 200, 'forced: the ban is enforced');
    assert.equal((await g.cli(['decisions', 'delete', '--value', '0.0.0.0/0'])).code, 0);
    assert.equal(await reach('legit', 4), 200);

    const allow = await g.cli(['allow', 'add', '0.0.0.0/0']);
    assert.notEqual(allow.code, 0);
    assert.match(allow.stderr, /0\.0\.0\.0\/0 covers every IPv4 address: allowing it would turn all protection off; add --force if you mean it/);
    assert.notEqual(await reach('phishing', 4), 200, 'protection stays on');
    const allowForced = await g.cli(['allow', 'add', '0.0.0.0/0', '--force']);
    assert.equal(allowForced.code, 0, allowForced.stderr);
    assert.equal(await reach('phishing', 4), 200, 'forced: everything is allowed');
    assert.equal((await g.cli(['allow', 'delete', '0.0.0.0/0'])).code, 0);
    assert.notEqual(await reach('phishing', 4), 200);
  });
});
