import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { nsExec, spawnInNs } from '../../src/lab/ns.js';
import { feedUrl } from '../../src/lab/topology.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { CrowdsecLapi, crowdsecInstalled } from './peers/crowdsec.js';

/**
 * Issue #8, finding 1: durations the kernel cannot hold froze all enforcement. Admin input is refused
 * with a clear error; remote input (watcher alerts, an upstream CrowdSec stream, list feeds) is accepted
 * and held by the kernel with the longest timeout Gatehouse gives it; ordinary decisions keep reaching
 * the kernel; SIGTERM finishes; a restart from such a store starts.
 */

const CAP_SEC = 1000 * 86_400; // src/firewall/timeout.ts KERNEL_TIMEOUT_CAP_SEC, as the kernel reads it back
const GO_MAX = '2562047h47m16.854775807s';
const STUB_PORT = 8090;
const CS_PORT = 8080;
const WATCHER = { id: 'h1-watcher', password: 'h1-watcher-password-123' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or undefined once `ms` have passed: a hang fails the test quickly instead of at its timeout. */
async function within<T>(ms: number, p: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM, and whether the daemon exited within `ms`. */
async function sigtermWithin(g: GatewayLab, ms: number): Promise<boolean> {
  await within(ms, g.stopDaemon('SIGTERM'));
  return g.daemon === undefined;
}

async function eventually<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The admin API over its Unix socket, with a raw JSON body (the CLI only ever sends duration text). */
function adminCall(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, method, path, headers: data ? { 'content-type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.end(data);
  });
}

interface NftElem {
  elem?: { val: string; timeout?: number; expires?: number };
}

/** value → timeout (s; 0 = none) of every element in the gateway's host sets, read with `nft -j list set`. */
async function kernelHosts(g: GatewayLab): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const set of ['both_ip4', 'in_ip4', 'out_ip4']) {
    const doc = JSON.parse(await g.nft(['-j', 'list', 'set', 'inet', 'gatehouse', set])) as { nftables: { set?: { elem?: (string | NftElem)[] } }[] };
    for (const item of doc.nftables) {
      for (const e of item.set?.elem ?? []) {
        if (typeof e === 'string') out.set(e, 0);
        else if (e.elem) out.set(e.elem.val, e.elem.timeout ?? 0);
      }
    }
  }
  return out;
}

/** A bouncer stream in the lab's internet that hands out the given decisions on a startup pull. */
const STUB = `
const http = require('node:http');
const decisions = JSON.parse(process.env.STREAM);
http.createServer((req, res) => {
  const startup = /[?&]startup=true/.test(req.url);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(startup ? { new: decisions, deleted: null } : { new: null, deleted: null }));
}).listen(${STUB_PORT}, process.env.HOST, () => console.log('ready'));
`;

describe('durations the kernel cannot hold (issue #8 finding 1)', { skip: skipReason, timeout: 300_000 }, () => {
  let g: GatewayLab;
  let stub: ChildProcess | undefined;
  let cs: CrowdsecLapi | undefined;
  let socket: string;
  let ordinary = 0;
  const lapiUrl = () => `http://${g.topo.gateway.lanIpv4}:8081`;

  /** A fresh ordinary decision over the API reaches the kernel within a second. */
  async function ordinaryStillEnforced(after: string): Promise<void> {
    const value = `198.18.0.${++ordinary}`;
    const t0 = Date.now();
    const r = await adminCall(socket, 'POST', '/v1/decisions', { value, duration: '1h' });
    assert.equal(r.status, 201, `${after}: ${r.text}`);
    await eventually(`${value} in the kernel after ${after}`, async () => ((await kernelHosts(g)).has(value) ? true : undefined), 5000, 50);
    const ms = Date.now() - t0;
    assert.ok(ms < 1000, `after ${after}, an ordinary decision took ${ms} ms to reach the kernel`);
  }

  before(async () => {
    g = await GatewayLab.start('n6du');
    const t = g.topo;
    socket = join(g.dir, 'data', 'api.sock');
    const stream = [
      { id: 1, duration: '30000h0m0s', origin: 'CAPI', scenario: 'h1/long-ban', scope: 'Ip', type: 'ban', value: '203.0.113.82' },
      { id: 2, duration: GO_MAX, origin: 'cscli', scenario: 'h1/go-max', scope: 'Ip', type: 'ban', value: '203.0.113.83' },
    ];
    stub = spawnInNs(t.namespaces.inet, process.execPath, ['-e', STUB], {
      env: { ...process.env, STREAM: JSON.stringify(stream), HOST: t.sites.legit.ipv4 },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      stub!.once('exit', (code) => reject(new Error(`stream stub exited with ${code}`)));
      stub!.stdout!.once('data', () => resolve());
    });
    await writeFile(join(g.lab.feedsDir, 'long.txt'), '203.0.113.85\n203.0.113.86\n');
    const feeds: Record<string, unknown>[] = [
      { name: 'upstream', type: 'crowdsec', url: `http://${t.sites.legit.ipv4}:${STUB_PORT}/`, api_key: 'h1-stub-key', refresh: '1s', direction: 'inbound' },
      { name: 'longlist', type: 'url', url: feedUrl(t, 'long.txt'), format: 'plain', direction: 'inbound', refresh: '1h', duration: '30000h' },
    ];
    if (crowdsecInstalled()) {
      cs = await CrowdsecLapi.start({ ns: t.namespaces.inet, host: t.sites.legit.ipv4, port: CS_PORT });
      feeds.push({ name: 'realcs', type: 'crowdsec', url: `http://${t.sites.legit.ipv4}:${CS_PORT}/`, api_key: await cs.addBouncer('gatehouse'), refresh: '1s', direction: 'inbound' });
    }
    await g.writeConfig({ feeds, lapi: { listen: `${t.gateway.lanIpv4}:8081` } });
    await g.startDaemon();
    const m = await g.cli(['machines', 'add', WATCHER.id, '--password', WATCHER.password]);
    assert.equal(m.code, 0, m.stderr);
  });

  after(async () => {
    stub?.kill('SIGKILL');
    await cs?.destroy().catch(() => undefined);
    await g?.close();
  });

  test('decisions add --duration 1158d is refused at once, naming the maximum', async () => {
    const t0 = Date.now();
    const r = await within(10_000, g.cli(['decisions', 'add', '203.0.113.80', '--duration', '1158d']));
    const ms = Date.now() - t0;
    assert.ok(r, 'decisions add --duration 1158d did not answer within 10 s');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /longer than the longest supported, 1000d; omit the duration for a decision that never expires/);
    assert.ok(ms < 5000, `took ${ms} ms`);
    assert.ok(!(await kernelHosts(g)).has('203.0.113.80'));
    await ordinaryStillEnforced('a refused --duration 1158d');
  });

  test('API JSON durations 1e308, 1e15 and 4294967296 are refused', async () => {
    for (const duration of [1e308, 1e15, 4294967296]) {
      const r = await adminCall(socket, 'POST', '/v1/decisions', { value: '203.0.113.80', duration });
      assert.equal(r.status, 400, `${duration}: ${r.text}`);
      assert.match(r.text, /longest supported, 1000d/);
    }
    const list = await adminCall(socket, 'GET', '/v1/decisions?value=203.0.113.80');
    assert.deepEqual(JSON.parse(list.text).decisions, []);
    await ordinaryStillEnforced('refused JSON durations');
  });

  /** A watcher (on client1) pushes an alert banning `value` for 30000h. */
  async function postLongAlert(value: string): Promise<void> {
    const login = await nsExec(g.topo.namespaces.c1, 'curl', ['-sS', '-m', '5', '-H', 'content-type: application/json', '-d',
      JSON.stringify({ machine_id: WATCHER.id, password: WATCHER.password, scenarios: [] }), `${lapiUrl()}/v1/watchers/login`]);
    const token = (JSON.parse(login.stdout) as { token: string }).token;
    assert.ok(token, login.stdout);
    const alert = [{
      scenario: 'h1/long-ban', scenario_hash: '', scenario_version: '', message: 'long ban', events_count: 1, start_at: new Date().toISOString(),
      stop_at: new Date().toISOString(), capacity: 0, leakspeed: '0', simulated: false, events: [], remediation: true,
      source: { scope: 'Ip', value, ip: value },
      decisions: [{ duration: '30000h', origin: 'crowdsec', scenario: 'h1/long-ban', scope: 'Ip', type: 'ban', value }],
    }];
    const post = await nsExec(g.topo.namespaces.c1, 'curl', ['-sS', '-m', '10', '-w', '\n%{http_code}', '-H', 'content-type: application/json', '-H', `authorization: Bearer ${token}`,
      '-d', JSON.stringify(alert), `${lapiUrl()}/v1/alerts`]);
    assert.match(post.stdout, /\n201$/, post.stdout);
  }

  test('a watcher alert banning for 30000h is enforced with the kernel timeout cap', async () => {
    await postLongAlert('203.0.113.81');
    const timeout = await eventually('the watcher decision in the kernel', async () => (await kernelHosts(g)).get('203.0.113.81'));
    assert.equal(timeout, CAP_SEC);
    await ordinaryStillEnforced('a watcher alert with 30000h');
  });

  test('an upstream CrowdSec stream with 30000h0m0s and Go\'s maximum duration is enforced', async () => {
    const got = await eventually('the upstream decisions in the kernel', async () => {
      const k = await kernelHosts(g);
      return k.has('203.0.113.82') && k.has('203.0.113.83') ? k : undefined;
    });
    assert.equal(got.get('203.0.113.82'), CAP_SEC);
    assert.equal(got.get('203.0.113.83'), CAP_SEC);
    await ordinaryStillEnforced('an upstream stream with 30000h0m0s and Go\'s maximum');
  });

  test('a real CrowdSec LAPI holding a 30000h decision (cscli) is enforced', { skip: crowdsecInstalled() ? undefined : 'crowdsec not installed' }, async () => {
    await cs!.addDecision({ ip: '203.0.113.84', duration: '30000h', reason: 'h1 long ban' });
    const timeout = await eventually('the cscli decision in the kernel', async () => (await kernelHosts(g)).get('203.0.113.84'));
    assert.equal(timeout, CAP_SEC);
    await ordinaryStillEnforced('a real CrowdSec 30000h decision');
  });

  test('a list feed with duration 30000h is enforced', async () => {
    // A list feed's duration is its staleness threshold: its entries never expire by themselves.
    await eventually('the feed entries in the kernel', async () => {
      const hosts = await kernelHosts(g);
      return hosts.has('203.0.113.85') && hosts.has('203.0.113.86') ? hosts : undefined;
    });
    await ordinaryStillEnforced('a feed with duration 30000h');
  });

  test('SIGTERM finishes, and a restart from a store with such rows (even one written before the fix) starts and enforces them', async () => {
    // This test's own long watcher decision (the upstream ones come from the suite's stub LAPI).
    await postLongAlert('203.0.113.81');
    await eventually('the watcher decision in the kernel', async () => (await kernelHosts(g)).get('203.0.113.81'));
    assert.ok(await sigtermWithin(g, 10_000), 'SIGTERM did not finish within 10 s');
    // What the unfixed store wrote for a JSON duration of 1e308: an infinite expiry; and one past 2^53.
    const db = new Database(join(g.dir, 'data', 'gatehouse.db'));
    const insert = db.prepare(
      `INSERT INTO decisions (value, family, prefix, is_range, start, end, origin, scenario, reason, direction, created_at, expires_at)
       VALUES (?, 4, 32, 0, ?, ?, 'manual', '', 'old row', 'both', ?, ?)`,
    );
    for (const [value, expiresAt] of [['203.0.113.87', Infinity], ['203.0.113.88', 1e18]] as const) {
      const bytes = Buffer.from(value.split('.').map(Number));
      insert.run(value, bytes, bytes, Date.now(), expiresAt);
    }
    db.close();
    await g.startDaemon();
    const k = await eventually('the long decisions after the restart', async () => {
      const hosts = await kernelHosts(g);
      return ['203.0.113.81', '203.0.113.82', '203.0.113.83', '203.0.113.87', '203.0.113.88'].every((v) => hosts.has(v)) ? hosts : undefined;
    });
    assert.equal(k.get('203.0.113.87'), CAP_SEC);
    assert.equal(k.get('203.0.113.88'), CAP_SEC);
    await ordinaryStillEnforced('a restart with long rows in the store');
    assert.ok(await sigtermWithin(g, 10_000), 'the second SIGTERM did not finish within 10 s');
  });
});
