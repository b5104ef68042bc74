import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { openDecisionStore, type DecisionStore } from '../../src/decisions/store-service.js';
import { LapiCredentials } from '../../src/store/lapi-credentials.js';
import { lapiMigrations } from '../../src/store/lapi-schema.js';
import { lapiRoutes } from '../../src/crowdsec/lapi/routes.js';
import { listenOnLoopback } from './helpers/loopback.js';

// The captures live in shared/ beside the checkout, not at a path of one machine.
const CAPTURES = join(fileURLToPath(new URL('../../', import.meta.url)), '..', 'shared', 'research', 'crowdsec-captures');
const capture = (name: string) => readFileSync(join(CAPTURES, name), 'utf8').trim();

let dir: string;
let store: DecisionStore;
let creds: LapiCredentials;
let app: FastifyInstance;
let base: string;
let t = Date.parse('2026-11-25T09:30:23Z');
const clock = () => t;
let key: string;
const WATCHER = { machine_id: 'anchor-watcher', password: 'anchorWatcherPassw0rd' };

interface Res {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

async function call(method: string, path: string, o: { key?: string; token?: string; body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Res> {
  const headers: Record<string, string> = { 'user-agent': 'anchor-curl/1.0', ...(o.headers ?? {}) };
  if (o.key !== undefined) headers['x-api-key'] = o.key;
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const r = await request(`${base}${path}`, { method: method as 'GET', headers, body: o.body });
  return { status: r.statusCode, body: await r.body.text(), headers: r.headers };
}

/** Decision JSON with the run-dependent parts (id, duration) blanked, for comparing with the captures. */
function shape(json: string): string {
  return json.replace(/"duration":"[^"]*"/g, '"duration":"D"').replace(/"id":\d+/g, '"id":0');
}
function elements(listJson: string): string[] {
  const arr = JSON.parse(listJson) as unknown[] | null;
  return (arr ?? []).map((x) => shape(JSON.stringify(x))).sort();
}

async function login(): Promise<string> {
  const r = await call('POST', '/v1/watchers/login', { body: JSON.stringify({ ...WATCHER, scenarios: ['anchor/test-scenario'] }) });
  assert.equal(r.status, 200, r.body);
  return (JSON.parse(r.body) as { token: string }).token;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lapi-routes-'));
  store = openDecisionStore(dir, { clock, migrations: [lapiMigrations] });
  creds = new LapiCredentials(store.db, clock);
  key = creds.addBouncer('anchor-bouncer');
  creds.addMachine(WATCHER.machine_id, WATCHER.password);
  app = Fastify({ logger: false });
  await app.register(lapiRoutes({ decisions: store.service, events: store.events, credentials: creds, db: store.db, profile: { durationMs: 4 * 3600_000, direction: 'both' }, now: clock, jwtSecret: Buffer.alloc(64, 3) }));
  base = await listenOnLoopback(app);
});

after(async () => {
  await app.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('bad or missing API key → 403 with CrowdSec\'s exact body', async () => {
  for (const k of ['this-is-not-a-valid-key', undefined]) {
    const r = await call('GET', '/v1/decisions', k === undefined ? {} : { key: k });
    assert.equal(r.status, 403);
    assert.equal(r.body, capture('28-get-decisions-badkey.json'));
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  }
  assert.equal((await call('GET', '/v1/decisions/stream?startup=true', { key: 'nope' })).status, 403);
});

test('empty store: live query answers null, stream answers both keys null', async () => {
  assert.equal((await call('GET', '/v1/decisions', { key })).body, capture('58-get-decisions-empty.json'));
  assert.equal((await call('GET', '/v1/decisions/stream?startup=true', { key })).body, '{"deleted":null,"new":null}');
  assert.equal((await call('GET', '/v1/decisions/stream', { key })).body, capture('31-stream-next-no-change.json'));
});

test('the capture scenario: startup stream, live queries, deltas after expiry, add and delete', async () => {
  const s = store.service;
  s.add({ value: '192.0.2.10', origin: 'cscli', scenario: 'anchor/manual-ip', durationSec: 4 * 3600 });
  s.add({ value: '198.51.100.0/24', origin: 'cscli', scenario: 'anchor/manual-range', durationSec: 1800 });
  s.add({ value: '2001:db8::10', origin: 'cscli', scenario: 'anchor/manual-ipv6', durationSec: 3600 });
  t += 1000;
  s.add({ value: '192.0.2.10', origin: 'cscli', scenario: 'anchor/manual-ip-dup', durationSec: 3600 });
  s.add({ value: '192.0.2.30', origin: 'cscli', scenario: 'anchor/expires-fast', durationSec: 5 });
  t += 1000;

  // Startup: same elements as CrowdSec's (minus the captcha/username ones we cannot hold), deduplicated.
  const startup = await call('GET', '/v1/decisions/stream?startup=true', { key, headers: { 'accept-encoding': 'gzip' } });
  assert.equal(startup.status, 200);
  assert.equal(startup.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(startup.headers['content-encoding'], undefined, 'LAPI never compresses answers');
  const got = JSON.parse(startup.body) as { deleted: unknown; new: unknown[] };
  assert.deepEqual(Object.keys(got), ['deleted', 'new']);
  assert.equal(got.deleted, null);
  const want = JSON.parse(capture('30-stream-startup.json')) as { new: { type: string }[] };
  assert.deepEqual(
    elements(JSON.stringify(got.new)),
    elements(JSON.stringify(want.new.filter((d) => d.type === 'ban'))),
  );
  assert.ok(startup.body.includes('"duration":"3h59m58s","id":1,"origin":"cscli","scenario":"anchor/manual-ip","scope":"Ip","type":"ban","value":"192.0.2.10"}'), startup.body);
  assert.ok(startup.body.includes('"duration":"4s"'), 'remaining time of the 5 s decision');

  // dedup=false gives the 1h duplicate too, like capture 33.
  const nodedup = await call('GET', '/v1/decisions/stream?startup=true&dedup=false', { key });
  assert.equal((JSON.parse(nodedup.body) as { new: unknown[] }).new.length, 5);

  // Live queries: all (sorted soonest-expiring first, no dedup), ip, ip inside range, no match, ipv6, range, HEAD.
  const all = JSON.parse((await call('GET', '/v1/decisions', { key })).body) as { value: string; scenario: string }[];
  assert.deepEqual(all.map((d) => d.scenario), ['anchor/expires-fast', 'anchor/manual-range', 'anchor/manual-ipv6', 'anchor/manual-ip-dup', 'anchor/manual-ip']);
  assert.deepEqual(elements((await call('GET', '/v1/decisions?ip=192.0.2.10', { key })).body), elements(capture('21-get-decisions-ip.json')));
  assert.deepEqual(elements((await call('GET', '/v1/decisions?ip=198.51.100.77', { key })).body), elements(capture('22-get-decisions-ip-in-range.json')));
  assert.equal((await call('GET', '/v1/decisions?ip=203.0.113.5', { key })).body, capture('23-get-decisions-no-match.json'));
  assert.deepEqual(elements((await call('GET', '/v1/decisions?ip=2001:db8::10', { key })).body), elements(capture('26-get-decisions-ipv6.json')));
  assert.deepEqual(elements((await call('GET', '/v1/decisions?range=198.51.100.0/24', { key })).body), elements(capture('25-get-decisions-range-param.json')));
  assert.equal((await call('GET', '/v1/decisions?scope=username&value=baduser', { key })).body, 'null');
  const head = await call('HEAD', '/v1/decisions?ip=192.0.2.10', { key });
  assert.deepEqual([head.status, head.body, head.headers['content-type']], [200, '', 'text/plain; charset=utf-8']);

  // Nothing changed since the startup pull.
  assert.equal((await call('GET', '/v1/decisions/stream', { key })).body, '{"deleted":null,"new":null}');

  // The 5 s decision expires: it shows up in deleted with a negative duration (capture 35).
  t += 7000;
  const afterExpiry = await call('GET', '/v1/decisions/stream?', { key });
  assert.equal(shape(afterExpiry.body), shape(capture('35-stream-after-expiry.json')));
  assert.match(afterExpiry.body, /"duration":"-3s"/);

  // Add → new; delete → deleted (captures 37, 39).
  t += 3000;
  const added = s.add({ value: '192.0.2.40', origin: 'cscli', scenario: 'anchor/new-after-startup', durationSec: 7200 });
  t += 500;
  assert.equal(shape((await call('GET', '/v1/decisions/stream', { key })).body), shape(capture('37-stream-after-add.json')));
  t += 5000;
  s.delete(added.id);
  t += 20;
  assert.equal(shape((await call('GET', '/v1/decisions/stream', { key })).body), shape(capture('39-stream-after-delete.json')));
  t += 5000;
  assert.equal((await call('GET', '/v1/decisions/stream', { key })).body, '{"deleted":null,"new":null}');

  // Deleting one of two decisions on one IP must not tell bouncers to unban it.
  s.deleteWhere({ value: '192.0.2.10', scenario: 'anchor/manual-ip-dup' });
  t += 1000;
  assert.equal((await call('GET', '/v1/decisions/stream', { key })).body, '{"deleted":null,"new":null}');
});

test('HEAD on the stream does not move the bouncer\'s last pull', async () => {
  const k = creds.addBouncer('head-bouncer');
  await call('GET', '/v1/decisions/stream?startup=true', { key: k });
  store.service.add({ value: '192.0.2.77', origin: 'manual', durationSec: 60 });
  t += 1000;
  const head = await call('HEAD', '/v1/decisions/stream', { key: k });
  assert.deepEqual([head.status, head.body], [200, '']);
  assert.match((await call('GET', '/v1/decisions/stream', { key: k })).body, /192\.0\.2\.77/);
  store.service.deleteWhere({ value: '192.0.2.77' });
});

test('scopes and origins filters', async () => {
  const k = creds.addBouncer('filter-bouncer');
  // This test's own cscli decisions (a range and an address), removed at the end.
  const mine = [
    store.service.add({ value: '198.51.100.64/26', origin: 'cscli', scenario: 'filters/range', durationSec: 1800 }),
    store.service.add({ value: '192.0.2.77', origin: 'cscli', scenario: 'filters/manual-ip', durationSec: 1800 }),
  ];
  const ranges = JSON.parse((await call('GET', '/v1/decisions/stream?startup=true&scopes=range', { key: k })).body) as { new: { scope: string }[] };
  assert.ok(ranges.new.length > 0 && ranges.new.every((d) => d.scope === 'Range'));
  assert.equal((await call('GET', '/v1/decisions/stream?startup=true&scopes=username', { key: k })).body, '{"deleted":null,"new":null}');
  store.service.add({ value: '203.0.113.9', origin: 'feed:test', durationSec: 600 });
  const onlyFeed = JSON.parse((await call('GET', '/v1/decisions/stream?startup=true&origins=feed:test', { key: k })).body) as { new: { value: string }[] };
  assert.deepEqual(onlyFeed.new.map((d) => d.value), ['203.0.113.9']);
  const two = JSON.parse((await call('GET', '/v1/decisions/stream?startup=true&origins=feed:test,cscli', { key: k })).body) as { new: { origin: string }[] };
  assert.deepEqual([...new Set(two.new.map((d) => d.origin))].sort(), ['cscli', 'feed:test']);
  const notProbe = JSON.parse((await call('GET', '/v1/decisions/stream?startup=true&scenarios_not_containing=MANUAL', { key: k })).body) as { new: { scenario: string }[] };
  assert.ok(notProbe.new.every((d) => !d.scenario.includes('manual')));
  assert.equal((await call('GET', '/v1/decisions?origins=nobody', { key: k })).body, 'null');
  store.service.deleteWhere({ origin: 'feed:test' });
  for (const d of mine) store.service.delete(d.id);
});

test('allowlisted addresses are never handed to bouncers', async () => {
  const k = creds.addBouncer('allow-bouncer');
  store.service.add({ value: '198.18.0.5', origin: 'manual', durationSec: 600 });
  store.service.addAllow({ value: '198.18.0.0/24' });
  const body = (await call('GET', '/v1/decisions/stream?startup=true', { key: k })).body;
  assert.equal(body.includes('198.18.0.5'), false);
  assert.equal((await call('GET', '/v1/decisions?ip=198.18.0.5', { key: k })).body, 'null');
  store.service.deleteAllow('198.18.0.0/24');
  store.service.deleteWhere({ value: '198.18.0.5' });
});

test('watcher: login, alerts with and without decisions, list, heartbeat, delete', async () => {
  const bad = await call('POST', '/v1/watchers/login', { body: capture('41-watcher-login-badpass.request.json') });
  assert.equal(bad.status, 401);
  assert.equal(bad.body, capture('41-watcher-login-badpass.json'));
  assert.equal(bad.headers['www-authenticate'], 'JWT realm=Crowdsec API local');

  const ok = await call('POST', '/v1/watchers/login', { body: JSON.stringify({ ...WATCHER, scenarios: ['anchor/test-scenario'] }) });
  const lr = JSON.parse(ok.body) as { code: number; expire: string; token: string };
  assert.deepEqual(Object.keys(lr), ['code', 'expire', 'token']);
  assert.equal(lr.code, 200);
  assert.equal(lr.expire, new Date(Math.floor(t / 1000) * 1000 + 3600_000).toISOString().replace('.000Z', 'Z'));
  const token = lr.token;

  const noTok = await call('POST', '/v1/alerts', { body: '[]' });
  assert.equal(noTok.status, 401);
  assert.equal(noTok.body, capture('44-post-alert-no-token.json'));
  assert.equal((await call('POST', '/v1/alerts', { body: '[]', token: token.slice(0, -2) + 'xx' })).status, 401);

  const k = creds.addBouncer('watcher-test-bouncer');
  // A decision of another origin, which the watcher's unfiltered DELETE below must leave alone.
  store.service.add({ value: '192.0.2.78', origin: 'cscli', scenario: 'watcher-test/other', durationSec: 3600 });
  await call('GET', '/v1/decisions/stream?startup=true', { key: k });
  t += 1000;
  const r1 = await call('POST', '/v1/alerts', { token, body: capture('42-post-alert-with-decisions.request.json') });
  assert.equal(r1.status, 201);
  assert.match(r1.body, /^\["\d+"\]$/);
  const r2 = await call('POST', '/v1/alerts', { token, body: capture('43-post-alert-profile-decides.request.json') });
  assert.equal(r2.status, 201);
  t += 500;

  const delta = JSON.parse((await call('GET', '/v1/decisions/stream', { key: k })).body) as { new: { value: string; duration: string; origin: string; scope: string }[] };
  const byValue = Object.fromEntries(delta.new.map((d) => [d.value, d]));
  assert.equal(byValue['203.0.113.50']?.duration, '2h59m59.5s');
  assert.equal(byValue['203.0.113.128/25']?.scope, 'Range');
  assert.equal(byValue['203.0.113.60']?.duration, '3h59m59.5s', 'profile: ban 4h');
  assert.equal(byValue['203.0.113.60']?.origin, 'lapi:anchor-watcher');

  const alerts = await call('GET', '/v1/alerts?limit=2', { token });
  const list = JSON.parse(alerts.body) as Record<string, unknown>[];
  const capturedKeys = Object.keys((JSON.parse(capture('45-get-alerts.json')) as Record<string, unknown>[])[0]!);
  assert.deepEqual(Object.keys(list[0]!), capturedKeys);
  assert.equal(list[0]!.scenario, 'anchor/ssh-bf');
  assert.equal((list[1]!.decisions as unknown[]).length, 2);
  assert.ok(alerts.body.includes('=\\u003e'), 'Go-style escaping of ">" as in capture 45');

  const hb = await call('GET', '/v1/heartbeat', { token });
  assert.deepEqual([hb.status, hb.body], [200, '']);
  assert.ok(creds.getMachine('anchor-watcher')?.lastHeartbeat === t);

  const del = await call('DELETE', '/v1/decisions?ip=203.0.113.50', { token });
  assert.equal(del.body, capture('52-watcher-delete-by-filter.json'));
  const id = store.service.covering('203.0.113.60')[0]!.id;
  assert.equal((await call('DELETE', `/v1/decisions/${id}`, { token })).body, capture('53-watcher-delete-by-id.json'));
  assert.equal((await call('DELETE', `/v1/decisions/${id}`, { token })).status, 404);
  t += 500;
  const gone = JSON.parse((await call('GET', '/v1/decisions/stream', { key: k })).body) as { deleted: { value: string; duration: string }[]; new: null };
  assert.deepEqual(gone.deleted.map((d) => d.value).sort(), ['203.0.113.50', '203.0.113.60']);
  assert.ok(gone.deleted.every((d) => d.duration.startsWith('-')));
  assert.equal(gone.new, null);

  // cscli decisions delete --all: no filter at all. A watcher deletes only its own (origin lapi:<machine>).
  const all = await call('DELETE', '/v1/decisions', { token });
  assert.match(all.body, /^\{"nbDeleted":"[1-9]\d*"\}$/);
  const left = JSON.parse((await call('GET', '/v1/decisions', { key: k })).body) as { origin: string }[];
  assert.ok(left.length > 0 && left.every((d) => d.origin === 'cscli'), 'decisions of other origins stay');
  store.service.deleteWhere({ origin: 'cscli' });
  t += 500;
});

test('gzip request bodies are accepted; malformed JSON → 400 and the server keeps serving', async () => {
  const token = await login();
  const alert = JSON.stringify([{ scenario: 'gz/test', remediation: true, source: { scope: 'Ip', value: '192.0.2.99' } }]);
  const gz = await call('POST', '/v1/alerts', { token, body: gzipSync(alert), headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' } });
  assert.equal(gz.status, 201, gz.body);
  const bad = await call('POST', '/v1/alerts', { token, body: '[{"scenario": ' });
  assert.equal(bad.status, 400);
  assert.match((JSON.parse(bad.body) as { message: string }).message, /JSON/);
  const notArray = await call('POST', '/v1/alerts', { token, body: '{"a":1}' });
  assert.equal(notArray.status, 400);
  const badLogin = await call('POST', '/v1/watchers/login', { body: '{{' });
  assert.equal(badLogin.status, 400);
  assert.equal((await call('GET', '/v1/decisions?ip=192.0.2.99', { key })).status, 200);
});

test('unknown route → 404 JSON like CrowdSec; usage metrics → 201', async () => {
  const r = await call('GET', '/v1/nothing-here', { key });
  assert.deepEqual([r.status, r.body], [404, '{"message":"Page or Method not found"}']);
  const m = await call('POST', '/v1/usage-metrics', { key, body: '{"remediation_components":[]}' });
  assert.equal(m.status, 201);
  assert.equal((await call('POST', '/v1/usage-metrics', { body: '{}' })).status, 403);
  assert.equal((await call('GET', '/health')).body, capture('59-health.json'));
});

test('a startup stream bigger than one page is complete, valid JSON and deduplicated', async () => {
  const k = creds.addBouncer('big-bouncer');
  const n = 12_345;
  store.service.addMany(Array.from({ length: n }, (_, i) => ({ value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, origin: 'feed:big', durationSec: 3600 })));
  store.service.addMany(Array.from({ length: 100 }, (_, i) => ({ value: `10.0.0.${i}`, origin: 'feed:big2', durationSec: 60 })));
  const r = await call('GET', '/v1/decisions/stream?startup=true&origins=feed:big,feed:big2', { key: k });
  const body = JSON.parse(r.body) as { new: { value: string; duration: string }[] };
  assert.equal(body.new.length, n);
  assert.equal(new Set(body.new.map((d) => d.value)).size, n);
  assert.ok(body.new.every((d) => d.duration === '1h0m0s'), 'the longer of two duplicates wins');
  store.service.deleteWhere({ origin: 'feed:big' });
  store.service.deleteWhere({ origin: 'feed:big2' });
});

test('a value that gains a shorter second decision after a startup stream is still sent once', async () => {
  const k = creds.addBouncer('dedup-later');
  store.service.addMany(Array.from({ length: 50 }, (_, i) => ({ value: `10.9.0.${i}`, origin: 'feed:later', durationSec: 7200 })));
  const stream = async () =>
    (JSON.parse((await call('GET', '/v1/decisions/stream?startup=true&origins=feed:later,cscli', { key: k })).body) as { new: { value: string; duration: string; origin: string }[] }).new;
  assert.equal((await stream()).length, 50);
  // After the first stream the server knows which values are shared; this add makes 10.9.0.7 one of them.
  // (A longer later duplicate would be sent as well: the bouncer keeps the longest, as with CrowdSec.)
  store.service.add({ value: '10.9.0.7', origin: 'cscli', durationSec: 30 });
  const again = await stream();
  assert.equal(again.length, 50);
  const seven = again.filter((d) => d.value === '10.9.0.7');
  assert.deepEqual(seven.map((d) => [d.origin, d.duration]), [['feed:later', '2h0m0s']]);
  store.service.deleteWhere({ origin: 'feed:later' });
  store.service.deleteWhere({ origin: 'cscli', value: '10.9.0.7' });
});

test('fuzz: random alert bodies and query strings never crash the server (400 or success, never 500)', async () => {
  const token = await login();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
  const atoms: unknown[] = [null, true, 0, -1, 1e308, '', 'x', '192.0.2.1', '::1', '10.0.0.0/8', '4h', 'Ip', 'Range', 'username', [], {}];
  const randomValue = (depth: number): unknown => {
    if (depth > 2 || Math.random() < 0.5) return pick(atoms);
    if (Math.random() < 0.5) return Array.from({ length: Math.floor(Math.random() * 3) }, () => randomValue(depth + 1));
    const keys = ['scenario', 'source', 'decisions', 'scope', 'value', 'duration', 'type', 'remediation', 'simulated', 'ip'];
    return Object.fromEntries(Array.from({ length: Math.floor(Math.random() * 5) }, () => [pick(keys), randomValue(depth + 1)]));
  };
  for (let i = 0; i < 150; i++) {
    const body = JSON.stringify(Math.random() < 0.8 ? [randomValue(0), randomValue(0)] : randomValue(0));
    const r = await call('POST', '/v1/alerts', { token, body: Math.random() < 0.1 ? body.slice(0, -1) : body });
    assert.ok(r.status === 201 || r.status === 400, `${r.status} ${r.body} for ${body}`);
  }
  const params = ['ip', 'range', 'scope', 'scopes', 'value', 'origins', 'type', 'contains', 'startup', 'dedup', 'scenarios_containing', 'limit', 'since'];
  for (let i = 0; i < 100; i++) {
    const qs = Array.from({ length: 3 }, () => `${pick(params)}=${encodeURIComponent(String(pick(atoms)))}`).join('&');
    for (const path of ['/v1/decisions', '/v1/decisions/stream']) {
      const r = await call('GET', `${path}?${qs}`, { key });
      assert.equal(r.status, 200, `${path}?${qs} → ${r.body}`);
      JSON.parse(r.body);
    }
    const a = await call('GET', `/v1/alerts?${qs}`, { token });
    assert.ok(a.status === 200 || a.status === 400, `/v1/alerts?${qs} → ${a.status} ${a.body}`);
  }
  store.service.deleteWhere({ origin: 'lapi:anchor-watcher' });
});
