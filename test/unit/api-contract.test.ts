/**
 * Issue #9: the admin API's contract. One table maps error classes to status codes (a taken bouncer name
 * was a 500 "internal error"), the status is typed (the modules running), `gatehouse status` renders it,
 * and the CLI and the API layer import no lower layer's internals they should not.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { adminRoutes } from '../../src/api/admin-routes.js';
import { peerAdminRoutes } from '../../src/api/peer-admin-routes.js';
import { openDecisionStore, type DecisionStore } from '../../src/decisions/store-service.js';
import { BlockEventRepo } from '../../src/store/block-events.js';
import { LapiCredentials } from '../../src/store/lapi-credentials.js';
import { lapiMigrations } from '../../src/store/lapi-schema.js';
import { formatStatus } from '../../src/cli/commands/blocks.js';
import { startAdminForCli, type AdminForCli } from './helpers/admin-cli.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TOKEN = 'contract test token';
const STARTED = Date.UTC(2026, 0, 2, 3, 4, 5);
/** What the composition root reports; the route adds the counts. */
const DAEMON_STATUS = {
  version: '0.1.0',
  startedAt: STARTED,
  modules: [
    { name: 'firewall', state: 'running' },
    { name: 'clients', state: 'running' },
    { name: 'lapi', state: 'running', detail: '127.0.0.1:8080' },
    { name: 'feeds', state: 'failed', detail: 'feed x: 404' },
    { name: 'crowdsec', state: 'running', status: { lapi: '127.0.0.1:8080', mirror: null, feeds: ['a'] } },
  ],
  firewall: { table: 'gatehouse', inbound: 'enforce', outbound: 'monitor', transactions: 3, refused: 0, refusedSamples: [] },
  lapi: '127.0.0.1:8080',
  mirror: null,
  feeds: 1,
  eventLoop: { p50Ms: 0, p99Ms: 1.5, maxMs: 12, samples: 300, since: STARTED },
} as const;

let dir: string;
let store: DecisionStore;
let admin: AdminForCli;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'n4-contract-'));
  store = openDecisionStore(dir, { migrations: [lapiMigrations] });
  const routes = adminRoutes({
    decisions: store.service,
    blocks: new BlockEventRepo(store.db),
    enforced: async () => undefined,
    collect: async () => undefined,
    status: () => DAEMON_STATUS,
  });
  const peers = peerAdminRoutes({ feeds: [], credentials: new LapiCredentials(store.db) });
  admin = await startAdminForCli(
    async (app) => {
      await routes(app);
      await peers(app);
    },
    dir,
    TOKEN,
  );
});

after(async () => {
  await admin.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${admin.tcpAddress}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

describe('errors map by class to status codes', () => {
  test('a bouncer or machine name that is taken is the caller\'s mistake (400 with the reason), not a 500', async () => {
    assert.equal((await call('POST', '/v1/bouncers', { name: 'fw1' })).status, 201);
    const again = await call('POST', '/v1/bouncers', { name: 'fw1' });
    assert.equal(again.status, 400, JSON.stringify(again.json));
    assert.equal(again.json.error, 'bouncer fw1 already exists');
    assert.equal((await call('POST', '/v1/machines', { name: 'agent1', password: 'long enough secret' })).status, 201);
    const short = await call('POST', '/v1/machines', { name: 'agent2', password: 'short' });
    assert.equal(short.status, 400, JSON.stringify(short.json));
    assert.match(String(short.json.error), /8-512 characters/);
    const r = await admin.cli(['bouncers', 'add', 'fw1']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'gatehouse: bouncer fw1 already exists');
  });

  test('what is not there is a 404 with a message, whatever the resource', async () => {
    for (const [path, msg] of [
      ['/v1/decisions/4242', 'no active decision with id 4242'],
      ['/v1/allow/192.0.2.9', 'no allow entry 192.0.2.9'],
      ['/v1/bouncers/nobody', 'no bouncer named nobody'],
      ['/v1/machines/nobody', 'no machine named nobody'],
    ] as const) {
      const r = await call('DELETE', path);
      assert.deepEqual([r.status, r.json], [404, { error: msg }], path);
    }
    const feed = await call('POST', '/v1/feeds/refresh?name=nope');
    assert.deepEqual([feed.status, feed.json], [404, { error: 'no feed named nope' }]);
  });

  test('a malformed value is a 400, an unknown endpoint a 404, bad JSON a 400', async () => {
    assert.equal((await call('POST', '/v1/decisions', { value: 'not-an-ip' })).status, 400);
    assert.equal((await call('GET', '/v1/blocks?since=soon')).status, 400);
    assert.equal((await call('GET', '/v1/nothing')).status, 404);
    const bad = await fetch(`${admin.tcpAddress}/v1/decisions`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"value":' });
    assert.equal(bad.status, 400);
  });
});

describe('the typed status', () => {
  test('GET /v1/status answers the daemon\'s status with the modules running and the counts', async () => {
    store.service.add({ value: '198.51.100.7', origin: 'manual' });
    const r = await call('GET', '/v1/status');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { ok: true, ...DAEMON_STATUS, decisions: store.service.count(), allow: 0 });
  });

  test('gatehouse status lists the modules and their state; --json prints the status as the API gave it', async () => {
    const r = await admin.cli(['status']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /gatehouse 0\.1\.0 up since 2026-01-02 03:04:05Z/);
    assert.match(r.stdout, /^MODULE\s+STATE\s+DETAIL$/m);
    assert.match(r.stdout, /^firewall\s+running\s+-$/m);
    assert.match(r.stdout, /^lapi\s+running\s+127\.0\.0\.1:8080$/m);
    assert.match(r.stdout, /^feeds\s+failed\s+feed x: 404$/m);
    assert.match(r.stdout, /^crowdsec\s+running\s+lapi=127\.0\.0\.1:8080$/m, 'a module without its own line shows its plain values');
    assert.match(r.stdout, /table inet gatehouse: inbound enforce, outbound monitor/);
    const j = await admin.cli(['status', '--json']);
    assert.equal(j.code, 0, j.stderr);
    const status = JSON.parse(j.stdout) as Record<string, unknown>;
    assert.deepEqual(status.modules, DAEMON_STATUS.modules);
    assert.equal(status.ok, true);
  });

  test('a daemon without a firewall (a LAPI-only config) has no table line, and says so in its modules', () => {
    const text = formatStatus({ ok: true, ...DAEMON_STATUS, modules: [{ name: 'crowdsec', state: 'running' }], firewall: null, decisions: 0, allow: 0 });
    assert.doesNotMatch(text, /table inet/);
    assert.match(text, /^crowdsec\s+running\s+-$/m);
  });
});

/** Import specifiers of every .ts file under a folder of src/ (static and dynamic imports). */
function importsUnder(folder: string): { file: string; spec: string }[] {
  const out: { file: string; spec: string }[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        const text = readFileSync(p, 'utf8');
        for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)'([^']+)'/g)) out.push({ file: relative(join(ROOT, 'src'), p), spec: resolve(d, m[1]!) });
      }
    }
  };
  walk(join(ROOT, 'src', folder));
  return out;
}

describe('layers', () => {
  test('the CLI reaches the daemon only through the API contract: no store, decisions or daemon internals', () => {
    const bad = importsUnder('cli').filter(({ spec }) => {
      const to = relative(join(ROOT, 'src'), spec);
      // The composition root's face: it loads the config (composed from the module list) and starts the daemon for `gatehouse run`.
      if (to === join('daemon', 'index.js')) return false;
      return /^(store|decisions|daemon|firewall|feeds|crowdsec|clients)\//.test(to);
    });
    assert.deepEqual(bad, []);
  });

  test('the API layer does not import the daemon', () => {
    const bad = importsUnder('api').filter(({ spec }) => relative(join(ROOT, 'src'), spec).startsWith('daemon/'));
    assert.deepEqual(bad, []);
  });
});
