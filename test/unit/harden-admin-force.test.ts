import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { openDecisionStore, type DecisionStore } from '../../src/decisions/store-service.js';
import { BlockEventRepo } from '../../src/store/block-events.js';
import { adminRoutes } from '../../src/api/admin-routes.js';
import { sendError } from '../../src/api/errors.js';
import { NO_STATUS } from './helpers/status.js';
import { parseTarget } from '../../src/net/ip.js';
import type { NetworkContext } from '../../src/net/target-guard.js';
import { listenOnLoopback } from './helpers/loopback.js';

/*
 * Issue #8, finding 5: the admin cannot ban or allow everything (or the LAN, or this gateway) by
 * accident. Such values are refused with what they would do, unless `force` is given.
 */

let dir: string;
let store: DecisionStore;
let app: FastifyInstance;
let base: string;
const NET: NetworkContext = {
  lan: [{ target: parseTarget('10.77.0.0/24'), ifname: 'br-lan' }],
  own: [{ target: parseTarget('10.77.0.1'), ifname: 'br-lan' }, { target: parseTarget('192.0.2.2'), ifname: 'wan0' }],
};

async function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await request(`${base}${path}`, {
    method: method as 'GET',
    headers: body === undefined ? {} : { 'content-type': contentType },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.statusCode, json: (await r.body.json()) as Record<string, unknown> };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'harden-admin-'));
  store = openDecisionStore(dir);
  app = Fastify({ logger: false });
  app.setErrorHandler((err, _req, reply) => sendError(err as Error, reply));
  await app.register(
    adminRoutes({
      decisions: store.service,
      blocks: new BlockEventRepo(store.db),
      enforced: async () => undefined,
      collect: async () => undefined,
      status: () => NO_STATUS,
      network: () => NET,
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
  store.service.deleteWhere({ origin: 'manual' });
  for (const a of store.service.listAllow()) store.service.deleteAllow(a.id);
});

test('decisions add refuses everything, half of everything, the LAN and the gateway without force, saying why', async () => {
  const r = await call('POST', '/v1/decisions', { value: '0.0.0.0/0' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, '0.0.0.0/0 covers every IPv4 address: it would cut the LAN and this gateway off the internet; add --force if you mean it');
  for (const [value, why] of [
    ['::/0', /every IPv6 address/],
    ['128.0.0.0/1', /half of all IPv4 addresses/],
    ['10.77.0.20', /LAN network 10\.77\.0\.0\/24 \(br-lan\)/],
    ['192.0.2.2', /own address 192\.0\.2\.2 \(wan0\)/],
    ['192.168.1.0/24', /private address space/],
  ] as const) {
    const x = await call('POST', '/v1/decisions', { value });
    assert.equal(x.status, 400, value);
    assert.match(String(x.json.error), why, value);
    assert.match(String(x.json.error), /add --force if you mean it$/);
  }
  assert.equal(store.service.count({ origin: 'manual' }), 0, 'nothing was stored');

  const ok = await call('POST', '/v1/decisions', { value: '203.0.113.5' });
  assert.equal(ok.status, 201);
  const forced = await call('POST', '/v1/decisions', { value: '0.0.0.0/0', force: true });
  assert.equal(forced.status, 201, JSON.stringify(forced.json));
  assert.equal((forced.json.decision as { value: string }).value, '0.0.0.0/0');
});

test('an import skips and counts refused lines with the reason, unless forced', async () => {
  const text = '203.0.113.10\n0.0.0.0/0 # oops\n::/0\n10.77.0.5\n198.51.100.0/24\n';
  const r = await call('POST', '/v1/decisions/import', text, 'text/plain');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.added, 2);
  assert.equal(r.json.skipped, 3);
  assert.equal(r.json.refused, 3);
  const samples = r.json.skippedSamples as { line: number; text: string; why: string }[];
  assert.deepEqual(samples.map((s) => s.line), [2, 3, 4]);
  assert.match(samples[0]!.why, /^0\.0\.0\.0\/0 covers every IPv4 address: it would cut the LAN and this gateway off the internet/);
  assert.ok(!store.service.list({ origin: 'manual' }).some((d) => d.value === '0.0.0.0/0'));

  const forced = await call('POST', '/v1/decisions/import?force=true', text, 'text/plain');
  assert.equal(forced.json.skipped, 0);
  assert.equal(forced.json.refused, 0);
  assert.ok(store.service.list({ origin: 'manual' }).some((d) => d.value === '0.0.0.0/0'));
});

test('allow add refuses only overly broad ranges: the LAN and private space are legitimate', async () => {
  const r = await call('POST', '/v1/allow', { value: '0.0.0.0/0' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, '0.0.0.0/0 covers every IPv4 address: allowing it would turn all protection off; add --force if you mean it');
  assert.equal((await call('POST', '/v1/allow', { value: '::/0' })).status, 400);
  assert.equal((await call('POST', '/v1/allow', { value: '128.0.0.0/1' })).status, 400);
  assert.equal(store.service.listAllow().length, 0);
  for (const value of ['10.77.0.0/24', '192.0.2.2', '10.0.0.0/8', '198.51.100.7']) {
    assert.equal((await call('POST', '/v1/allow', { value })).status, 201, value);
  }
  assert.equal((await call('POST', '/v1/allow', { value: '0.0.0.0/0', force: true })).status, 201);
});
