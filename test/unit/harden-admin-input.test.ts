/**
 * Issue #8: the admin API and the mirror read no body before authentication (finding 4's audit), a bad
 * path parameter is a 400 with a clear message instead of a 500, and an empty filter value is refused
 * instead of deleting every decision with an empty field (finding 6).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { startAdminServers, type AdminServers } from '../../src/api/server.js';
import { adminRoutes } from '../../src/api/admin-routes.js';
import { NO_STATUS } from './helpers/status.js';
import { peerAdminRoutes } from '../../src/api/peer-admin-routes.js';
import { MirrorDecisionReads, mirrorRoutes } from '../../src/crowdsec/mirror/index.js';
import { openDecisionStore, type DecisionStore } from '../../src/decisions/store-service.js';
import { BlockEventRepo } from '../../src/store/block-events.js';
import { LapiCredentials } from '../../src/store/lapi-credentials.js';
import { lapiMigrations } from '../../src/store/lapi-schema.js';
import { answersBeforeBody } from './helpers/before-body.js';

const TOKEN = 'correct horse battery staple';
let dir: string;
let store: DecisionStore;
let admin: AdminServers;
let mirror: FastifyInstance;
let mirrorBase: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-harden-admin-'));
  store = openDecisionStore(dir, { migrations: [lapiMigrations] });
  const routes = adminRoutes({ decisions: store.service, blocks: new BlockEventRepo(store.db), enforced: async () => undefined, collect: async () => undefined, status: () => NO_STATUS });
  const peers = peerAdminRoutes({ feeds: [], credentials: new LapiCredentials(store.db) });
  admin = await startAdminServers(
    async (app) => {
      await routes(app);
      await peers(app);
    },
    { socket: join(dir, 'api.sock'), listen: '127.0.0.1:0', tokenSha256: createHash('sha256').update(TOKEN).digest('hex') },
  );
  mirror = Fastify();
  await mirror.register(mirrorRoutes({ decisions: new MirrorDecisionReads(store.db), endpoints: [{ path: '/security/blocklist', format: 'plain_text', auth: 'basic', users: [{ user: 'fw', password_sha256: createHash('sha256').update('pw').digest('hex') }] }] }));
  mirrorBase = await mirror.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await admin.close();
  await mirror.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Over the Unix socket (root's: the file mode is the authentication). */
function viaSocket(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath: join(dir, 'api.sock'), method, path, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('admin API over TCP and the mirror answer an unauthenticated or unknown request before reading its body', async () => {
  assert.equal(await answersBeforeBody(`${admin.tcpAddress}/v1/decisions/import`, 'POST'), 401);
  assert.equal(await answersBeforeBody(`${admin.tcpAddress}/v1/decisions/import`, 'POST', { authorization: 'Bearer wrong' }), 401);
  assert.equal(await answersBeforeBody(`${admin.tcpAddress}/v1/no-such-thing`, 'POST'), 401);
  assert.equal(await answersBeforeBody(`${mirrorBase}/security/blocklist`, 'POST'), 404);
  assert.equal(await answersBeforeBody(`${mirrorBase}/elsewhere`, 'PUT'), 404);
  // …and the mirror still serves its endpoint.
  const ok = await fetch(`${mirrorBase}/security/blocklist`, { headers: { authorization: `Basic ${Buffer.from('fw:pw').toString('base64')}` } });
  assert.equal(ok.status, 404, 'empty store: the mirror says no decisions');
  assert.equal(await ok.text(), 'no decisions available\n');
});

test('explain with a malformed or impossible value → 400 with a clear message, never a 500', async () => {
  for (const v of ['%25', '%', '%E0%A4%A', 'not-an-ip', '%00', '999.1.1.1']) {
    const r = await viaSocket('GET', `/v1/explain/${v}`);
    assert.equal(r.status, 400, `${v}: ${r.body}`);
    assert.doesNotMatch(r.body, /internal error|URI malformed/, v);
  }
  const ok = await viaSocket('GET', `/v1/explain/${encodeURIComponent('198.51.100.0/24')}`);
  assert.equal(ok.status, 200, ok.body);
  assert.equal((JSON.parse(ok.body) as { value: string }).value, '198.51.100.0/24');
});

test('other path parameters: malformed percent-encoding and bad ids → 400 or 404, never a 500', async () => {
  for (const p of ['/v1/decisions/%25', '/v1/decisions/%', '/v1/decisions/-1', '/v1/allow/%25', '/v1/allow/%', '/v1/bouncers/%25', '/v1/machines/%']) {
    const r = await viaSocket('DELETE', p);
    assert.ok(r.status === 400 || r.status === 404, `${p}: ${r.status} ${r.body}`);
    assert.doesNotMatch(r.body, /internal error/, p);
  }
});

test('DELETE /v1/decisions with an empty filter value is refused and deletes nothing', async () => {
  store.service.add({ value: '192.0.2.1', origin: 'manual' });
  store.service.add({ value: '192.0.2.2', origin: 'feed:x', scenario: '' });
  for (const q of ['scenario=', 'origin=', 'value=', 'scenario=&origin=manual', 'origin=%20']) {
    const r = await viaSocket('DELETE', `/v1/decisions?${q}`);
    assert.equal(r.status, 400, `${q}: ${r.body}`);
    assert.match(r.body, /empty/, q);
  }
  assert.equal(store.service.count(), 2, 'nothing deleted');
  const ok = await viaSocket('DELETE', '/v1/decisions?origin=feed:x');
  assert.equal(ok.status, 200, ok.body);
  assert.equal(store.service.count(), 1);
});

test('the store refuses empty filter values whoever asks (LAPI, CLI)', () => {
  assert.throws(() => store.service.deleteWhere({ scenario: '' }), /scenario: empty value/);
  assert.throws(() => store.service.deleteWhere({ origin: '', value: '192.0.2.1' }), /origin: empty value/);
});
