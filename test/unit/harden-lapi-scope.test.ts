import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { openDecisionStore, type DecisionStore } from '../../src/decisions/store-service.js';
import { LapiCredentials } from '../../src/store/lapi-credentials.js';
import { lapiMigrations } from '../../src/store/lapi-schema.js';
import { lapiRoutes } from '../../src/crowdsec/lapi/routes.js';
import { deletableOrigins, mayDelete } from '../../src/crowdsec/lapi/permissions.js';
import { parseTarget } from '../../src/net/ip.js';
import type { NetworkContext } from '../../src/net/target-guard.js';
import { listenOnLoopback } from './helpers/loopback.js';

/*
 * Issue #8, finding 3: a watcher acts on its own decisions (origin lapi:<machine>) unless lapi.machines
 * grants more, and its alerts go through the same guard as every other source of decisions.
 */

let dir: string;
let store: DecisionStore;
let creds: LapiCredentials;
let app: FastifyInstance;
let base: string;
const logged: string[] = [];
const PASS = 'a-long-enough-passw0rd';
const NET: NetworkContext = {
  lan: [{ target: parseTarget('10.77.0.0/24'), ifname: 'br-lan' }, { target: parseTarget('fd77::/64'), ifname: 'br-lan' }],
  own: [{ target: parseTarget('10.77.0.1'), ifname: 'br-lan' }, { target: parseTarget('192.0.2.2'), ifname: 'wan0' }],
};

async function call(method: string, path: string, token?: string, body?: string): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await request(`${base}${path}`, { method: method as 'GET', headers, body });
  return { status: r.statusCode, body: await r.body.text() };
}

async function login(machine: string): Promise<string> {
  const r = await call('POST', '/v1/watchers/login', undefined, JSON.stringify({ machine_id: machine, password: PASS }));
  assert.equal(r.status, 200, r.body);
  return (JSON.parse(r.body) as { token: string }).token;
}

const alert = (decisions: { value: string; scope?: string }[], source = '203.0.113.200') =>
  JSON.stringify([
    {
      scenario: 'test/scope',
      remediation: true,
      source: { scope: 'Ip', value: source },
      decisions: decisions.map((d) => ({ origin: 'crowdsec', type: 'ban', scope: d.scope ?? (d.value.includes('/') ? 'Range' : 'Ip'), value: d.value, duration: '1h', scenario: 'test/scope' })),
    },
  ]);

const values = (origin: string) => store.service.list({ origin }).map((d) => d.value).sort();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'harden-lapi-'));
  store = openDecisionStore(dir, { migrations: [lapiMigrations] });
  creds = new LapiCredentials(store.db);
  for (const m of ['w1', 'w2', 'boss']) creds.addMachine(m, PASS);
  app = Fastify({ logger: false });
  await app.register(
    lapiRoutes({
      decisions: store.service,
      events: store.events,
      credentials: creds,
      db: store.db,
      profile: { durationMs: 4 * 3600_000, direction: 'both' },
      jwtSecret: Buffer.alloc(64, 7),
      machines: [
        { name: 'w2', delete_origins: ['manual', 'lapi:*'] },
        { name: 'boss', delete_origins: ['*'] },
      ],
      network: () => NET,
      log: { warn: (_o: object, m: string) => logged.push(m) },
    }),
  );
  base = await listenOnLoopback(app);
});

after(async () => {
  await app.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  for (const o of ['manual', 'feed:list', 'lapi:w1', 'lapi:w2', 'lapi:boss']) store.service.deleteWhere({ origin: o });
  logged.length = 0;
});

function seed(): void {
  store.service.add({ value: '198.51.100.1', origin: 'manual', scenario: 'probe' });
  store.service.addMany([{ value: '198.51.100.2', origin: 'feed:list' }, { value: '198.51.100.3', origin: 'feed:list' }]);
  store.service.add({ value: '203.0.113.1', origin: 'lapi:w1', scenario: 'probe', durationSec: 3600 });
  store.service.add({ value: '198.51.100.1', origin: 'lapi:w1', durationSec: 3600 });
  store.service.add({ value: '203.0.113.2', origin: 'lapi:w2', durationSec: 3600 });
}

test('alerts banning everything, half of everything, the LAN or the gateway are refused, logged and answered 201', async () => {
  const token = await login('w1');
  const bad = ['0.0.0.0/0', '::/0', '10.77.0.0/24', '192.0.2.2', '128.0.0.0/1', 'fd77::5'];
  const r = await call('POST', '/v1/alerts', token, alert([...bad.map((value) => ({ value })), { value: '203.0.113.9' }]));
  assert.equal(r.status, 201, r.body);
  assert.match(r.body, /^\["\d+"\]$/, 'CrowdSec answers with the alert ids');
  assert.deepEqual(values('lapi:w1'), ['203.0.113.9'], 'only the ordinary address became a decision');
  const line = logged.find((l) => /refused 6 decision/.test(l));
  assert.ok(line, logged.join('\n'));
  assert.match(line, /0\.0\.0\.0\/0 covers every IPv4 address/);

  // An alert without decisions whose source is the gateway itself: the profile must not ban it either.
  const r2 = await call('POST', '/v1/alerts', token, JSON.stringify([{ scenario: 'x/y', remediation: true, source: { scope: 'Ip', value: '192.0.2.2' } }]));
  assert.equal(r2.status, 201);
  assert.deepEqual(values('lapi:w1'), ['203.0.113.9']);

  // A big alert (cscli decisions import) goes through the bulk path: the guard applies there too.
  const many = Array.from({ length: 150 }, (_, i) => ({ value: `203.0.113.${i + 50}` }));
  const r3 = await call('POST', '/v1/alerts', token, alert([...many, { value: '0.0.0.0/0' }, { value: '10.77.0.9' }]));
  assert.equal(r3.status, 201);
  assert.equal(values('lapi:w1').length, 1 + 150);
  assert.ok(!values('lapi:w1').includes('0.0.0.0/0'));
  assert.ok(logged.some((l) => /refused 2 decision/.test(l)), logged.join('\n'));
});

test('a watcher without grants deletes only its own decisions, with or without a filter', async () => {
  seed();
  const token = await login('w1');
  const all = await call('DELETE', '/v1/decisions', token);
  assert.equal(all.status, 200);
  assert.equal(all.body, '{"nbDeleted":"2"}');
  assert.deepEqual(values('lapi:w1'), []);
  assert.deepEqual(values('manual'), ['198.51.100.1'], 'the manual decision stays');
  assert.deepEqual(values('feed:list'), ['198.51.100.2', '198.51.100.3'], 'the feed stays');
  assert.deepEqual(values('lapi:w2'), ['203.0.113.2'], "another watcher's decision stays");

  seed();
  const byValue = await call('DELETE', '/v1/decisions?ip=198.51.100.1', token);
  assert.equal(byValue.body, '{"nbDeleted":"1"}');
  assert.deepEqual(values('manual'), ['198.51.100.1']);

  const byScenario = await call('DELETE', '/v1/decisions?scenario=probe', token);
  assert.equal(byScenario.body, '{"nbDeleted":"1"}', 'its own 203.0.113.1, not the manual decision of the same scenario');
  assert.deepEqual(values('manual'), ['198.51.100.1']);
  assert.deepEqual(values('feed:list'), ['198.51.100.2', '198.51.100.3']);

  const other = await call('DELETE', '/v1/decisions?origin=manual', token);
  assert.equal(other.status, 403);
  assert.match(other.body, /w1 may only delete its own decisions \(origin lapi:w1\).*lapi\.machines/);
  assert.deepEqual(values('manual'), ['198.51.100.1']);

  const feedId = store.service.list({ origin: 'feed:list' })[0]!.id;
  const byId = await call('DELETE', `/v1/decisions/${feedId}`, token);
  assert.equal(byId.status, 403);
  assert.match(byId.body, /may only delete its own decisions/);
  assert.equal(store.service.list({ origin: 'feed:list' }).length, 2);
  const ownId = store.service.add({ value: '203.0.113.7', origin: 'lapi:w1', durationSec: 60 }).id;
  assert.equal((await call('DELETE', `/v1/decisions/${ownId}`, token)).body, '{"nbDeleted":"1"}');
});

test('lapi.machines grants a watcher more origins, "*" every decision', async () => {
  seed();
  const w2 = await login('w2');
  const r = await call('DELETE', '/v1/decisions', w2);
  assert.equal(r.body, '{"nbDeleted":"4"}', 'manual + every watcher, not the feed');
  assert.deepEqual(values('feed:list'), ['198.51.100.2', '198.51.100.3']);
  assert.equal((await call('DELETE', '/v1/decisions?origin=feed:list', w2)).status, 403);

  const boss = await login('boss');
  const r2 = await call('DELETE', '/v1/decisions?origin=feed:list', boss);
  assert.equal(r2.body, '{"nbDeleted":"2"}');
});

test('mayDelete: own origin always, exact origins, prefixes ending in *, and * alone', () => {
  const grants = [{ name: 'a', delete_origins: ['manual', 'feed:*'] }, { name: 'b', delete_origins: ['*'] }];
  assert.equal(mayDelete('x', 'lapi:x', grants), true);
  assert.equal(mayDelete('x', 'lapi:xy', grants), false);
  assert.equal(mayDelete('x', 'manual', grants), false);
  assert.equal(mayDelete('a', 'manual', grants), true);
  assert.equal(mayDelete('a', 'feed:firehol', grants), true);
  assert.equal(mayDelete('a', 'crowdsec', grants), false);
  assert.equal(mayDelete('b', 'anything', grants), true);
  assert.equal(mayDelete('a', 'manual', undefined), false);
  assert.deepEqual(deletableOrigins('x', grants), ['lapi:x']);
  assert.deepEqual(deletableOrigins('c', [{ name: 'c', delete_origins: ['manual', 'crowdsec'] }]), ['lapi:c', 'manual', 'crowdsec']);
  assert.equal(deletableOrigins('a', grants), undefined, 'a pattern needs the store to list origins');
});
