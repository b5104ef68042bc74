import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import Fastify from 'fastify';
import { request } from 'undici';
import { openDecisionStore } from '../../src/decisions/store-service.js';
import { lapiRoutes } from '../../src/crowdsec/lapi/routes.js';
import { ALERT_RETENTION, LapiAlerts } from '../../src/store/lapi-alerts.js';
import { LapiCredentials } from '../../src/store/lapi-credentials.js';
import { lapiMigrations } from '../../src/store/lapi-schema.js';

/*
 * What `cscli decisions list` / `alerts …` read (GET/DELETE /v1/alerts), with a watcher's alert, a manual
 * ban and a feed in the store; the real cscli drives the same routes in test/e2e/lapi-cscli-window.test.ts.
 */

interface WireAlert {
  id: number;
  scenario: string;
  machine_id: string;
  source: Record<string, string>;
  decisions: { id: number; value: string; origin: string }[];
}

async function lab(t: TestContext, machines?: { name: string; delete_origins: string[] }[]) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-alerts-'));
  const store = openDecisionStore(dir, { migrations: [lapiMigrations] });
  const creds = new LapiCredentials(store.db);
  creds.addMachine('w1', 'w1-password-long');
  creds.addMachine('w2', 'w2-password-long');
  const app = Fastify({ logger: false });
  await app.register(
    lapiRoutes({ decisions: store.service, credentials: creds, db: store.db, profile: { durationMs: 4 * 3600_000, direction: 'both' }, jwtSecret: Buffer.alloc(32, 5), ...(machines ? { machines } : {}) }),
  );
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const tokens = new Map<string, string>();
  async function call(machine: string, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
    let token = tokens.get(machine);
    if (!token) {
      const r = await request(`${base}/v1/watchers/login`, { method: 'POST', body: JSON.stringify({ machine_id: machine, password: `${machine}-password-long` }) });
      token = (JSON.parse(await r.body.text()) as { token: string }).token;
      tokens.set(machine, token);
    }
    const r = await request(`${base}${path}`, { method: method as 'GET', headers: { authorization: `Bearer ${token}` }, ...(body ? { body } : {}) });
    return { status: r.statusCode, body: await r.body.text() };
  }
  const list = async (machine: string, query: string) => (JSON.parse((await call(machine, 'GET', `/v1/alerts?${query}`)).body) ?? []) as WireAlert[];
  const ban = (value: string) => ({ origin: 'cscli', type: 'ban', scope: 'Ip', value, duration: '1h', scenario: 'n5/test' });
  const push = async (machine: string, values: string[]) => {
    const r = await call(machine, 'POST', '/v1/alerts', JSON.stringify([{ scenario: 'n5/test', source: { scope: 'Ip', value: values[0] }, decisions: values.map(ban) }]));
    assert.equal(r.status, 201, r.body);
    return Number((JSON.parse(r.body) as string[])[0]);
  };
  return { store, call, list, push };
}

test('decisions list shows live decisions only: one deleted since the alert came in is gone from it', async (t) => {
  const { store, list, push } = await lab(t);
  const id = await push('w1', ['192.0.2.10', '192.0.2.11']);
  store.service.deleteWhere({ value: '192.0.2.10' });
  const alerts = await list('w1', 'has_active_decision=true&include_capi=false&limit=100');
  const mine = alerts.find((a) => a.id === id);
  assert.deepEqual(mine?.decisions.map((d) => d.value), ['192.0.2.11']);
  store.service.deleteWhere({ value: '192.0.2.11' });
  assert.equal((await list('w1', 'has_active_decision=true&include_capi=false')).some((a) => a.id === id), false, 'an alert with nothing live left is not listed');
  assert.equal((await list('w1', 'include_capi=false')).some((a) => a.id === id), true, 'but alerts list still has it');
});

test('manual and feed decisions show under one alert per origin; feeds only with include_capi', async (t) => {
  const { store, list } = await lab(t);
  store.service.add({ value: '198.51.100.5', origin: 'manual', reason: 'by hand' });
  store.service.addMany([{ value: '203.0.113.0/24', origin: 'feed:drop' }, { value: '203.0.113.9', origin: 'feed:drop' }]);
  const local = await list('w1', 'has_active_decision=true&include_capi=false&limit=100');
  assert.deepEqual(local.map((a) => [a.source.value, a.decisions.map((d) => d.value)]), [['manual', ['198.51.100.5']]]);
  const all = await list('w1', 'has_active_decision=true&include_capi=true&limit=0');
  const feed = all.find((a) => a.source.value === 'feed:drop');
  assert.deepEqual(feed?.decisions.map((d) => d.value).sort(), ['203.0.113.0/24', '203.0.113.9']);
  const again = await list('w1', 'has_active_decision=true&include_capi=true&limit=0');
  assert.deepEqual(again.map((a) => a.id), all.map((a) => a.id), 'a stand-in keeps its id between listings');
  const byIp = await list('w1', 'ip=203.0.113.20&include_capi=true');
  assert.deepEqual(byIp.flatMap((a) => a.decisions.map((d) => d.value)), ['203.0.113.0/24'], 'ip= finds the range covering it');
});

test('GET /v1/alerts/{id} answers an alert and 404 for none; DELETE follows lapi.machines', async (t) => {
  const { store, call, list, push } = await lab(t, [{ name: 'w2', delete_origins: ['lapi:w1'] }]);
  const id = await push('w1', ['192.0.2.20']);
  const one = await call('w1', 'GET', `/v1/alerts/${id}`);
  assert.equal(one.status, 200);
  assert.equal((JSON.parse(one.body) as WireAlert).decisions[0]?.value, '192.0.2.20');
  assert.equal((await call('w1', 'GET', '/v1/alerts/999999')).status, 404);
  assert.equal((await call('w1', 'GET', '/v1/alerts/x')).status, 400);

  store.service.add({ value: '198.51.100.6', origin: 'manual' });
  const manual = (await list('w1', 'include_capi=false')).find((a) => a.source.value === 'manual')!;
  const refused = await call('w1', 'DELETE', `/v1/alerts/${manual.id}`);
  assert.equal(refused.status, 403);
  assert.match(refused.body, /lapi\.machines/);
  assert.equal(store.service.count({ origin: 'manual' }), 1);
  const allRefused = await call('w2', 'DELETE', '/v1/alerts?scenario=manual&limit=0');
  assert.equal(allRefused.status, 403);

  // w2 may delete w1's decisions (granted), so w1's alert too.
  const del = await call('w2', 'DELETE', `/v1/alerts/${id}`);
  assert.deepEqual([del.status, del.body], [200, '{"nbDeleted":"1"}']);
  assert.equal(store.service.covering('192.0.2.20').length, 0, 'its decision is deleted with it');
  assert.equal((await call('w1', 'GET', `/v1/alerts/${id}`)).status, 404);

  await push('w1', ['192.0.2.21']);
  const all = await call('w1', 'DELETE', '/v1/alerts?limit=0');
  assert.deepEqual([all.status, all.body], [200, '{"nbDeleted":"1"}'], 'its own, not the manual stand-in');
  assert.equal(store.service.count({ origin: 'manual' }), 1);
});

test('a watcher decision whose alert was purged stays visible under the watcher\'s stand-in', async (t) => {
  const { store, list, push } = await lab(t);
  const id = await push('w1', ['192.0.2.30']);
  new LapiAlerts(store.db).purge(Date.now() + 1);
  const alerts = await list('w1', 'has_active_decision=true&include_capi=false');
  assert.equal(alerts.some((a) => a.id === id), false);
  assert.deepEqual(alerts.find((a) => a.source.value === 'lapi:w1')?.decisions.map((d) => d.value), ['192.0.2.30']);
});

test('alert retention: older than the age or beyond the count are purged, stand-ins and decisions stay', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-alerts-'));
  const store = openDecisionStore(dir, { migrations: [lapiMigrations] });
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const alerts = new LapiAlerts(store.db);
  const add = (createdAt: number) => alerts.add({ machineId: 'w', scenario: 's', sourceScope: 'Ip', sourceValue: '192.0.2.1', createdAt, decisions: [], raw: '{}' });
  for (let i = 1; i <= 10; i++) add(i * 1000);
  alerts.originAlert('manual', 1);
  assert.equal(alerts.purge(3000, 5), 2 + 3, 'two too old, then three beyond the newest five');
  assert.deepEqual(alerts.list().filter((a) => a.origin === null).map((a) => a.createdAt), [10_000, 9000, 8000, 7000, 6000]);
  assert.equal(alerts.list().filter((a) => a.origin === 'manual').length, 1);
  assert.deepEqual(ALERT_RETENTION, { maxAgeMs: 7 * 86_400_000, maxCount: 5000 });
});
